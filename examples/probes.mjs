// A handler module for `ktrace run --handlers examples/probes.mjs` (README.md "Handler scripts"), in the
// spirit of a kernel module or a bpftrace program: count vfs_read calls per task, print each call's
// caller (its return address read from the stack, guest memory) and size into the trace, and measure
// vfs_read's latency in emulated ns with a kretprobe; the totals go to the kernel log at exit.
const calls = new Map(); // comm -> calls
const lat = [];

export const kprobes = [{
  symbol_name: 'vfs_read',
  pre_handler: function vfs_read_pre(p, regs, k) {
    const comm = k.current()?.comm ?? '?';
    calls.set(comm, (calls.get(comm) ?? 0) + 1);
    const ret = k.readKernel(regs.sp, 8); // the return address the call pushed
    k.trace_printk(`count=${regs.dx} from ${ret === undefined ? '?' : k.sprint_symbol(ret)}`, 'vfs_read_pre');
    return 0;
  },
}];

export const kretprobes = [{
  kp: { symbol_name: 'vfs_read' },
  data_size: 8,
  entry_handler(ri, regs, k) { new DataView(ri.data.buffer, ri.data.byteOffset).setBigUint64(0, k.ktime_get(), true); return 0; },
  handler(ri, regs, k) { lat.push(Number(k.ktime_get() - new DataView(ri.data.buffer, ri.data.byteOffset).getBigUint64(0, true))); return 0; },
}];

export function exit(k) {
  for (const [comm, n] of [...calls].sort()) k.printk(`vfs_read: ${comm}: ${n} calls`);
  lat.sort((a, b) => a - b);
  if (lat.length) k.printk(`vfs_read latency: ${lat.length} calls, min ${lat[0]} ns, median ${lat[lat.length >> 1]} ns, max ${lat[lat.length - 1]} ns`);
  k.printk(`nmissed: kprobe ${kprobes[0].nmissed}, kretprobe ${kretprobes[0].nmissed}`);
}
