// The library's runs (src/lib/kernel.ts over src/kprobe/api.ts) and the examples/ ports of the kernel's
// samples/kprobes, checked against the CLI's own tracing of the same run (hits, return values, times):
// the examples print what the kernel samples print; handler faults, errors and budgets behave as
// api.ts documents; trace_printk lands in the trace.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';
import { openKernel, px, HandlerBudgetExceeded, type kprobe, type pt_regs } from '../../src/index.js';

const state = mkdtempSync(join(tmpdir(), 'ktrace-lib-'));
const env = { ...process.env, KTRACE_STATE: state };
const k = openKernel();

function node(args: string[]): { out: string; status: number | null; err: string } {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env });
  return { out: r.stdout, status: r.status, err: r.stderr };
}
/** `ktrace run WL -a SPEC... --json`: the events and the summary. */
function cli(wl: string, specs: string[]): { events: { event: string; ts: string; retval?: number; pid: number }[]; probes: Record<string, { hits: number }> } {
  const r = node([join(ROOT, 'bin', 'ktrace'), 'run', wl, ...specs.flatMap((s) => ['-a', s]), '--json']);
  const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
  const summary = lines.pop();
  return { events: lines, probes: Object.fromEntries((summary.probes ?? []).map((p: { event: string; hits: number }) => [p.event, p])) };
}
const usec = (ts: string) => Math.round(Number(ts) * 1e6);

test('examples/kprobe_example.mjs: planted at the kallsyms address, a pre and a post line per hit, as many hits as ktrace run counts', () => {
  for (const [sym, wl] of [['vfs_read', 'cat'], ['kernel_clone', 'default']]) {
    const r = node([join(ROOT, 'examples', 'kprobe_example.mjs'), `symbol=${sym}`, `workload=${wl}`]);
    assert.is(r.status, 0, r.err);
    const lines = r.out.trim().split('\n');
    const addr = px(k.image.lookupName(sym)!);
    assert.is(lines[0], `Planted kprobe at ${addr}`);
    assert.is(lines[lines.length - 1], `kprobe at ${addr} unregistered`);
    const body = lines.slice(1, -1);
    // a raw kprobe_events line: the symbol's own address (perf's -a FUNC also probes inlined copies)
    const want = cli(wl, [`p:probe/${sym} ${sym}`]).probes[`probe:${sym}`]?.hits ?? 0;
    assert.is(body.length, 2 * want, `${sym}: ${want} hits`);
    for (let i = 0; i < body.length; i += 2) {
      assert.match(body[i], new RegExp(`^<${sym}> p->addr = 0x${addr}, ip = ${px(k.image.lookupName(sym)! + 1).replace(/^0+/, '')}, flags = 0x[0-9a-f]+$`));
      assert.match(body[i + 1], new RegExp(`^<${sym}> p->addr = 0x${addr}, flags = 0x[0-9a-f]+$`));
    }
  }
  const bad = node([join(ROOT, 'examples', 'kprobe_example.mjs'), 'symbol=no_such_function']);
  assert.is(bad.status, 1);
  assert.is(bad.out, 'register_kprobe failed, returned -2\n');
  assert.match(bad.err, /insmod: ERROR: could not insert module: init failed: -2/);
});

test('examples/kretprobe_example.mjs: return values as $retval gives them, latency in emulated ns as the trace timestamps measure it', () => {
  const r = node([join(ROOT, 'examples', 'kretprobe_example.mjs'), 'func=vfs_read', 'workload=cat']);
  assert.is(r.status, 0, r.err);
  const again = node([join(ROOT, 'examples', 'kretprobe_example.mjs'), 'func=vfs_read', 'workload=cat']);
  assert.is(again.out, r.out, 'deterministic: emulated time');
  const lines = r.out.trim().split('\n');
  assert.is(lines[0], `Planted return probe at vfs_read: ${px(k.image.lookupName('vfs_read')!)}`);
  assert.is(lines[lines.length - 1], 'Missed probing 0 instances of vfs_read');
  const calls = lines.slice(1, -2).map((l) => /^vfs_read returned (\d+) and took (\d+) ns to execute$/.exec(l)!);
  assert.ok(calls.length > 0 && calls.every(Boolean), r.out);
  const t = cli('cat', ['vfs_read', 'vfs_read%return $retval']);
  const rets = t.events.filter((e) => e.event === 'probe:vfs_read__return');
  assert.equal(calls.map((m) => Number(m[1])).sort(), rets.map((e) => Number(e.retval)).sort(), 'same return values');
  // one task reads in `cat`: entries and returns pair up in order; the trace's µs timestamps bracket the latency
  const entries = t.events.filter((e) => e.event === 'probe:vfs_read');
  assert.is(entries.length, calls.length);
  for (let i = 0; i < calls.length; i++) {
    const ns = Number(calls[i][2]), d = usec(rets[i].ts) - usec(entries[i].ts);
    assert.ok(ns > 0 && Math.abs(ns / 1000 - d) <= 1, `call ${i}: ${ns} ns vs ${d} us in the trace`);
  }
});

test('trace_printk from a handler: a trace line at that CPU and time, attributed to the handler', () => {
  let n = 0;
  const r = k.run({
    workload: 'cat',
    init(s) {
      s.register_kprobe({ symbol_name: 'vfs_read', pre_handler: function handler_pre(_p, regs) { s.trace_printk(`count=${regs.dx}`, 'handler_pre'); n++; return 0; } });
    },
  });
  const lines = r.traceLines.filter((l) => l.includes('handler_pre: count='));
  assert.is(lines.length, n);
  assert.ok(n > 0);
  assert.match(lines[0] ?? '', /^ +init-1 +\[00\d\] [d.][.nN][.hszHZ][.\d][.\d] +\d+\.\d{6}: handler_pre: count=\d+$/);
});

test('a raw read of unmapped memory in a handler goes to fault_handler (trap 14); unhandled, it oopses as the kernel would', () => {
  const trap: number[] = [];
  const kp: kprobe = {
    symbol_name: 'vfs_read',
    pre_handler: (_p: kprobe, regs: pt_regs) => { regs.cpu.mem.read64(-4096); return 0; },
    fault_handler: (_p, _r, nr) => { trap.push(nr); return 1; },
  };
  const r = k.run({ workload: 'cat', init: (s) => { s.register_kprobe(kp); } });
  assert.is(r.exitCode, 0);
  assert.ok(trap.length > 0 && trap.every((t) => t === 14));
  assert.is(kp.nmissed, trap.length);
  const r2 = k.run({ workload: 'cat', init: (s) => { s.register_kprobe({ symbol_name: 'vfs_read', pre_handler: (_p, regs) => { regs.cpu.mem.read64(-4096); } }); } });
  assert.is(r2.end.kind, 'fatal');
  assert.match((r2.end as { message: string }).message, /kprobe handler at vfs_read\+0x0\/0x[0-9a-f]+ faulted \(trap 14\)/);
});

test("onHandlerError 'contain': a throwing handler and one past its read budget are counted on their probe; the run is the unprobed run", () => {
  const plain = k.run({ workload: 'cat' });
  const thrower: kprobe = { symbol_name: 'vfs_read', pre_handler: () => { throw new TypeError('boom'); } };
  let budget: unknown;
  const looper: kprobe = {
    symbol_name: 'vfs_write',
    pre_handler: (_p, regs) => { try { for (;;) s!.readKernel(regs.sp); } catch (e) { budget = e; throw e; } },
  };
  let s: import('../../src/index.js').KernelSession | undefined;
  const r = k.run({ workload: 'cat', handlers: { onHandlerError: 'contain', readBudget: 1000 }, init: (x) => { s = x; x.register_kprobe(thrower); x.register_kprobe(looper); } });
  assert.ok(budget instanceof HandlerBudgetExceeded);
  assert.is(r.exitCode, 0);
  assert.equal(r.syscalls, plain.syscalls);
  assert.is(r.instructions, plain.instructions, 'probes and their errors do not change the kernel');
  assert.equal(s!.errors.map((e) => [e.probe, e.handler, e.message, e.count]), [
    ['vfs_read', 'pre_handler', 'boom', thrower.nmissed],
    ['vfs_write', 'pre_handler', 'more than 1000 guest-memory reads in one handler call', looper.nmissed],
  ]);
  assert.ok((thrower.nmissed ?? 0) > 0 && (looper.nmissed ?? 0) > 0);
});

test('register_kprobe twice, by address: -EINVAL, one probe; a throwing fault_handler is contained', () => {
  let hits = 0;
  const r = k.run({
    workload: 'cat', handlers: { onHandlerError: 'contain' },
    init(s) {
      const p: kprobe = { addr: s.kallsyms_lookup_name('vfs_read'), pre_handler: () => { hits++; s.readKernel(-4096); return 0; }, fault_handler: () => { throw new Error('fh'); } };
      assert.is(s.register_kprobe(p), 0);
      assert.is(s.register_kprobe(p), -22);
      assert.match(s.lastError, /already registered/);
    },
  });
  assert.is(r.exitCode, 0);
  assert.is(r.traceLines.length, 0);
  assert.is(hits, r.syscalls.read.count, 'one probe: one hit per read(2)');
});

test.after(() => rmSync(state, { recursive: true, force: true }));
test.run();
