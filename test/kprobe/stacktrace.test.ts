// Stack traces taken inside kretprobe handlers (lib/test_kprobes.c: test_stacktrace_on_kretprobe,
// test_stacktrace_on_nested_kretprobe), driven by ktrace_selftest 3: the first call runs unprobed and
// records the real return addresses in target_return_address[0..1]; the probes are enabled for the
// second call (at kprobe_stacktrace_driver's entry), and the traces must show those addresses, never
// the trampoline.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Image } from '../../src/elf/image.js';
import { DEFAULT_VMLINUX } from '../../src/paths.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { runScript, type RunResult } from '../../src/kernel/session.js';
import {
  KprobeManager, KretprobeManager, stackTraceSave, stackTraceSaveRegs, regsReturnValue, KPROBE_FLAG_DISABLED,
  type Kprobe, type Kretprobe, type PtRegs,
} from '../../src/kprobe/index.js';

const image = Image.load(readFileSync(DEFAULT_VMLINUX));
const TRA = image.lookupName('target_return_address')!;
const wl = parseWorkload('st.wl', 'v = ktrace_selftest 3 0\nv = ktrace_selftest 3 0\n');

/** The manager of the run in progress (handlers run during runScript). */
let krp!: KretprobeManager;

function run(rps: Kretprobe[], cpus = 1): { r: RunResult; krp: KretprobeManager } {
  let calls = 0;
  const r = runScript(image, wl, {
    cpus, seed: 1, maxInsns: 2e8,
    attach: (pl) => {
      const mgr = KprobeManager.attach(pl);
      krp = KretprobeManager.attach(pl, mgr);
      for (const rp of rps) { rp.kp.addr = undefined; rp.kp.flags = KPROBE_FLAG_DISABLED; } // as the selftest resets kp.addr
      assert.is(krp.registerKretprobes(rps), 0);
      // the first driver call records the real addresses; the probes go live for the second one
      const drv: Kprobe = { symbolName: 'kprobe_stacktrace_driver', preHandler: () => {
        if (++calls === 2) for (const rp of rps) assert.is(krp.enableKretprobe(rp), 0);
      } };
      assert.is(mgr.registerKprobe(drv), 0);
    },
  });
  return { r, krp };
}

const target = (k: KretprobeManager, i: number) => Number(BigInt.asIntN(64, k.mgr.machine.mem.read64(TRA + 8 * i)));
const u64 = (v: bigint) => Number(BigInt.asIntN(64, v));

test('test_stacktrace_on_kretprobe: traces in the return handler show the real return address', () => {
  let ran = 0;
  const rp3: Kretprobe = {
    kp: { symbolName: 'kprobe_stacktrace_target' },
    handler: (ri, regs: PtRegs) => {
      ran++;
      const want = target(krp, 1);
      assert.ok(want !== 0 && image.lookupAddr(want)?.entry.name === 'kprobe_stacktrace_driver', 'recorded by the unprobed call');
      // the function returns its own __builtin_return_address(0): inside a kretprobed function that is the
      // trampoline, as on Linux (only lookups made by handlers and unwinders are fixed up)
      assert.is(u64(regsReturnValue(regs)), krp.trampoline);
      assert.is(ri.retAddr, want);
      const trace = stackTraceSave(krp, regs.cpu);
      assert.ok(trace.length > 1);
      assert.ok(trace.includes(want), 'stack_trace_save finds target_return_address[1]');
      assert.not.ok(trace.includes(krp.trampoline), 'never the trampoline');
      const fromRegs = stackTraceSaveRegs(krp, regs);
      assert.is(fromRegs[0], want, 'stack_trace_save_regs starts at the real return address');
      assert.ok(fromRegs.some((a) => image.lookupAddr(a)?.entry.name === 'do_syscall_64'), `and goes on to the callers: ${fromRegs.map((a) => image.formatAddr(a))}`);
    },
  };
  const r = run([rp3]);
  assert.is(r.r.exitCode, 0, JSON.stringify(r.r.end));
  assert.is(ran, 1);
  const res = Object.keys(r.r.syscalls['ktrace_selftest'].results);
  assert.is(res.length, 1, 'both driver calls return the same address: the probes change nothing');
});

test('test_stacktrace_on_nested_kretprobe: the trampoline in a caller\'s frame is replaced by the real address', () => {
  let inner = 0, outer = 0, rawTrampoline = false;
  const rp3: Kretprobe = {
    kp: { symbolName: 'kprobe_stacktrace_target' },
    handler: (_ri, regs) => { outer++; assert.is(stackTraceSaveRegs(krp, regs)[0], target(krp, 1)); },
  };
  const rp4: Kretprobe = {
    kp: { symbolName: 'kprobe_stacktrace_internal_target' },
    handler: (_ri, regs) => {
      inner++;
      const t0 = target(krp, 0), t1 = target(krp, 1);
      assert.is(image.lookupAddr(t0)?.entry.name, 'kprobe_stacktrace_target');
      assert.is(u64(regsReturnValue(regs)), krp.trampoline);
      // the caller's frame really holds the trampoline now (what an unfixed unwinder would print)
      const slot = regs.bp + 8;
      rawTrampoline = u64(krp.mgr.machine.mem.read64(slot)) === krp.trampoline;
      const trace = stackTraceSave(krp, regs.cpu);
      const i = trace.indexOf(t0);
      assert.ok(i >= 0 && i + 1 < trace.length, `target_return_address[0] in ${trace.map((a) => image.formatAddr(a))}`);
      assert.is(trace[i + 1], t1, 'followed by target_return_address[1]');
      const fromRegs = stackTraceSaveRegs(krp, regs);
      assert.is(fromRegs[0], t0);
      assert.is(fromRegs[1], t1);
      assert.not.ok(fromRegs.includes(krp.trampoline));
    },
  };
  for (const cpus of [1, 2]) {
    inner = outer = 0;
    const r = run([rp3, rp4], cpus);
    assert.is(r.r.exitCode, 0, JSON.stringify(r.r.end));
    assert.is(inner, 1);
    assert.is(outer, 1);
    assert.ok(rawTrampoline, 'the raw stack held the trampoline');
    assert.is(r.r.exitCode, 0);
    assert.is(Object.keys(r.r.syscalls['ktrace_selftest'].results).length, 1);
  }
});

test.run();
