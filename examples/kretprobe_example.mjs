#!/usr/bin/env node
// A port of the kernel's samples/kprobes/kretprobe_example.c: a return probe on kernel_clone (or
// func=NAME) that reports each call's execution time. The entry handler stamps ktime_get() into the
// instance's data (data_size 8), the return handler prints the return value and the time taken, in
// emulated nanoseconds (the emulated clock: the same on every run). maxactive is 20 as in the sample;
// nmissed > 0 at exit means it was too low.
//
//   node examples/kretprobe_example.mjs [func=kernel_clone] [workload=default]
import { InitError, openKernel, px, regs_return_value } from 'ktrace';

const params = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
const func_name = params.func ?? 'kernel_clone';

let my_kretprobe;
const kernel = openKernel();
let r;
try {
  r = kernel.run({
    workload: params.workload ?? 'default',
    init(k) {
      /* Here we use the entry_handler to timestamp function entry */
      function entry_handler(ri, regs) {
        if (!k.current()?.pid) return 1; /* Skip kernel threads (the idle tasks: the only ones here) */
        new DataView(ri.data.buffer, ri.data.byteOffset).setBigInt64(0, k.ktime_get(), true);
        return 0;
      }
      /* Return-probe handler: Log the return value and duration. */
      function ret_handler(ri, regs) {
        const retval = BigInt.asUintN(64, regs_return_value(regs));
        const entry_stamp = new DataView(ri.data.buffer, ri.data.byteOffset).getBigInt64(0, true);
        const delta = k.ktime_get() - entry_stamp;
        k.printk(`${func_name} returned ${retval} and took ${delta} ns to execute`);
        return 0;
      }
      my_kretprobe = {
        kp: { symbol_name: func_name },
        handler: ret_handler,
        entry_handler,
        data_size: 8, /* sizeof(struct my_data) */
        /* Probe up to 20 instances concurrently. */
        maxactive: 20,
      };
      const ret = k.register_kretprobe(my_kretprobe);
      if (ret < 0) {
        k.printk(`register_kretprobe failed, returned ${ret}`);
        return ret;
      }
      k.printk(`Planted return probe at ${my_kretprobe.kp.symbol_name}: ${px(my_kretprobe.kp.addr)}`);
    },
    exit(k) {
      k.unregister_kretprobe(my_kretprobe);
      k.printk(`kretprobe at ${px(my_kretprobe.kp.addr)} unregistered`);
      /* nmissed > 0 suggests that maxactive was set too low. */
      k.printk(`Missed probing ${my_kretprobe.nmissed} instances of ${my_kretprobe.kp.symbol_name}`);
    },
  });
} catch (e) {
  if (!(e instanceof InitError)) throw e;
  for (const line of e.log) console.log(line);
  console.error(`insmod: ERROR: could not insert module: ${e.message}`);
  process.exit(1);
}
for (const line of r.log) console.log(line);
process.exitCode = r.exitCode;
