// Per-hit host cost of a kprobe: a guest loop calls kprobe_target N times on the booted fixture image,
// once unprobed, once with an int3 + single-step probe (pre and post handler: "k") and once boosted
// (pre handler only: "b"); (probed − unprobed host time) / hits (best of 3 interleaved runs each), side by side with the kernel
// document's 2008 figures (Documentation/kprobes.rst "Optimized Probe Overhead", x86-64 Xeon E5410:
// k = 0.99 µs, b = 0.43 µs, o = 0.06 µs for a jump-optimized probe; f is the ftrace-based probe at the
// mcount nop, which the document does not measure), plus the probe overhead each hit costs in instructions
// (kprobes' own instructions and the kernel's exception round trip per trap: src/kprobe/overhead.ts).
// Return probes: a kretprobe on kprobe_target (entry kprobe, trampoline, return handler) whose entry is
// single-stepped ("r": a no-op post_handler probe shares the address, so nothing boosts it), boosted ("rb":
// its entry probe has no post_handler) or jump-optimized ("ro": the 5-byte nop at +0 as a one-instruction
// region, without ftrace), the document's r = 1.24 µs, rb = 0.68 µs, ro = 0.35 µs; and a kprobe plus a
// kretprobe on the same function ("kr": the 2005 table has kr close to r, x86_64 r = 0.80, kr = 0.82).
import { readFileSync } from 'node:fs';
import { BlockEncoder, BlockEncoderOptions, Code, Instruction, Register as R } from 'iced-x86';
import { Image } from '../src/elf/image.js';
import { DEFAULT_VMLINUX } from '../src/paths.js';
import { Platform } from '../src/kernel/platform.js';
import { RAM_BASE } from '../src/kernel/contract.js';
import { Stop } from '../src/emu/machine.js';
import { Reg } from '../src/emu/cpu.js';
import { PERM_R, PERM_X } from '../src/emu/memory.js';
import { KprobeManager, KretprobeManager, MODULES_VADDR, type Kprobe } from '../src/kprobe/index.js';
import { Optimizer } from '../src/kprobe/optimizer.js';
import { printTable } from './lib/tools.js';
import type { Section } from './sections/section.js';

const LOOP = MODULES_VADDR + 0x10000000; // "module text" near the kernel, for a rel32 call

interface Run { seconds: number; hits: number; kernelInsns: number; probeInsns: number }

type Mode = 'none' | 'k' | 'b' | 'r' | 'rb' | 'ro' | 'kr' | 'o' | 'o2' | 'f';

function once(image: Image, n: number, mode: Mode): Run {
  const pl = new Platform(image, { cpus: 1, seed: 1, timerPeriod: 0 });
  pl.boot({ entry: 0x400000, stackTop: 0x7ff000 });
  const m = pl.machine, cpu = m.cpus[0];
  const target = image.lookupName('kprobe_target')!;
  // mov r15d, n; top: mov edi, 300; call kprobe_target; dec r15; jnz top; int3
  const top = BigInt.asUintN(64, BigInt(LOOP + 6));
  const ins = [
    Instruction.createRegU32(Code.Mov_r32_imm32, R.R15D, n),
    Instruction.createRegU32(Code.Mov_r32_imm32, R.EDI, 300),
    Instruction.createBranch(Code.Call_rel32_64, BigInt.asUintN(64, BigInt(target))),
    Instruction.createReg(Code.Dec_rm64, R.R15),
    Instruction.createBranch(Code.Jne_rel32_64, top),
    Instruction.create(Code.Int3),
  ];
  const be = new BlockEncoder(64, BlockEncoderOptions.None);
  for (const i of ins) be.add(i);
  // the loop label is the second instruction: encode once to learn its offset
  const code = be.encode(BigInt.asUintN(64, BigInt(LOOP)));
  be.free();
  m.mem.map(LOOP, 4096, PERM_R | PERM_X);
  m.mem.writeBytes(LOOP, code);
  let hits = 0;
  const mgr = new KprobeManager(image, m);
  let krp: KretprobeManager | undefined;
  let opt: Optimizer | undefined;
  if (mode === 'r' || mode === 'rb' || mode === 'ro' || mode === 'kr') {
    // a task context, as the kernel has once it runs: %gs → pcpu_hot whose current_task is a task_struct
    const pcpu = RAM_BASE + 0x200000, task = RAM_BASE + 0x201000;
    m.mem.writeBytes(pcpu, new Uint8Array(new BigUint64Array([BigInt.asUintN(64, BigInt(task))]).buffer));
    m.mem.writeBytes(task + 72, Uint8Array.of(1, 0, 0, 0)); // pid 1
    cpu.gsBase = BigInt.asUintN(64, BigInt(pcpu));
    krp = new KretprobeManager(mgr);
    if (mode === 'ro') opt = new Optimizer(mgr, { ftrace: false });
    // hits: return handler runs
    if (krp.registerKretprobe({ kp: { symbolName: 'kprobe_target' }, handler: () => { hits++; } }) !== 0) {
      throw new Error(`bench: ${krp.lastError.reason}`);
    }
    if (mode === 'kr' && mgr.registerKprobe({ symbolName: 'kprobe_target', preHandler: () => 0 }) !== 0) {
      throw new Error(`bench: ${mgr.lastError.reason}`);
    }
    if (mode === 'r' && mgr.registerKprobe({ symbolName: 'kprobe_target', postHandler: () => {} }) !== 0) {
      throw new Error(`bench: ${mgr.lastError.reason}`);
    }
    const pp = mgr.table.get(image.lookupName('kprobe_target')!)!;
    if (mode === 'rb' && !pp.ainsn.boostable) throw new Error('bench: the kretprobe entry is not boostable');
    if (mode === 'ro' && (opt!.runWorker(true), !pp.optimized)) throw new Error('bench: the kretprobe entry was not optimized');
  } else if (mode !== 'none') {
    // o: a jump-optimized probe at kprobe_target+7 (mov $imm32,%edx: a one-instruction region), o2: at +5
    // (two instructions: the second runs from the ordinary copy page); f: the ftrace probe at +0 (mcount nop)
    if (mode === 'o' || mode === 'o2' || mode === 'f') opt = new Optimizer(mgr, { ftrace: mode === 'f' });
    const kp: Kprobe = { symbolName: 'kprobe_target', offset: mode === 'o' ? 7 : mode === 'o2' ? 5 : 0, preHandler: () => { hits++; return 0; } };
    if (mode === 'k') kp.postHandler = () => {};
    if (mgr.registerKprobe(kp) !== 0) throw new Error(`bench: ${mgr.lastError.reason}`);
    const pp = mgr.probePointOf(kp)!;
    if (mode === 'b' && !pp.ainsn.boostable) throw new Error('bench: kprobe_target+0 is not boostable');
    if ((mode === 'o' || mode === 'o2') && (opt!.runWorker(true), !pp.optimized)) throw new Error(`bench: ${image.formatAddr(pp.addr)} was not optimized`);
    if (mode === 'f' && !pp.ftrace) throw new Error('bench: kprobe_target+0 is not an ftrace probe');
  }
  cpu.setRegNum(Reg.RSP, RAM_BASE + 0x100000);
  cpu.rip = LOOP;
  // host calls (return trampolines, detours, the ftrace trampoline) are handled in place, as the
  // platform does; other stops come back to the loop below
  m.onHostCall = (c) => !!(krp?.handleTrap(c, Stop.HostCall) || opt?.handleTrap(c, Stop.HostCall));
  const t0 = process.hrtime.bigint();
  for (;;) {
    const s = m.run(cpu, 1e12);
    if (mgr.handleTrap(cpu, s) || krp?.handleTrap(cpu, s) || opt?.handleTrap(cpu, s)) continue;
    if (s === Stop.Breakpoint && cpu.rip === LOOP + code.length) break;
    throw new Error(`bench: unexpected stop ${s} at ${image.formatAddr(cpu.rip)}${mgr.oopses.length ? `: ${mgr.oopses[0].message}` : ""}`);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (mode !== 'none' && hits !== n) throw new Error(`bench: ${hits} hits for ${n} calls`);
  void top;
  return { seconds, hits: mode === 'none' ? 0 : hits, kernelInsns: cpu.instret, probeInsns: cpu.probeInstret };
}

export const kprobe: Section = {
  name: 'kprobe',
  description: 'per-hit host cost of an int3+single-step kprobe (k), a boosted one (b), a kretprobe (r), kprobe+kretprobe (kr), a jump-optimized kprobe (o) and an ftrace one (f) vs the kernel document',
  run(opts) {
    const n = Number(opts.iters ?? 1_000_000);
    const image = Image.load(readFileSync(DEFAULT_VMLINUX));
    once(image, 2000, 'k'); once(image, 2000, 'b'); once(image, 2000, 'none'); // warm up the JITs
    once(image, 2000, 'r'); once(image, 2000, 'rb'); once(image, 2000, 'ro'); once(image, 2000, 'kr'); once(image, 2000, 'o'); once(image, 2000, 'o2'); once(image, 2000, 'f');
    // interleaved, best of `repeat` each: the least disturbed run (the host is shared)
    const repeat = Number(opts.repeat ?? 3);
    let base = once(image, n, 'none'), k = once(image, n, 'k'), b = once(image, n, 'b');
    let r = once(image, n, 'r'), rb = once(image, n, 'rb'), ro = once(image, n, 'ro');
    let kr = once(image, n, 'kr'), o = once(image, n, 'o'), o2 = once(image, n, 'o2'), f = once(image, n, 'f');
    for (let i = 1; i < repeat; i++) {
      const x = once(image, n, 'none'), y = once(image, n, 'k'), z = once(image, n, 'b');
      const xr = once(image, n, 'r'), xrb = once(image, n, 'rb'), xro = once(image, n, 'ro'), xkr = once(image, n, 'kr'), xo = once(image, n, 'o'), xo2 = once(image, n, 'o2'), xf = once(image, n, 'f');
      if (xo.seconds < o.seconds) o = xo;
      if (xo2.seconds < o2.seconds) o2 = xo2;
      if (xf.seconds < f.seconds) f = xf;
      if (x.seconds < base.seconds) base = x;
      if (y.seconds < k.seconds) k = y;
      if (z.seconds < b.seconds) b = z;
      if (xr.seconds < r.seconds) r = xr;
      if (xrb.seconds < rb.seconds) rb = xrb;
      if (xro.seconds < ro.seconds) ro = xro;
      if (xkr.seconds < kr.seconds) kr = xkr;
    }
    const ok = [k, b, r, rb, ro, kr, o, o2, f].every((x) => x.kernelInsns === base.kernelInsns);
    const us = (r: Run) => ((r.seconds - base.seconds) / r.hits) * 1e6;
    const rows = [
      ['unprobed', String(n), base.seconds.toFixed(3), '-', '-', '-', String(base.kernelInsns)],
      ['k (int3 + single-step)', String(k.hits), k.seconds.toFixed(3), us(k).toFixed(3), '0.99', (k.probeInsns / k.hits).toFixed(1), String(k.kernelInsns)],
      ['b (boosted)', String(b.hits), b.seconds.toFixed(3), us(b).toFixed(3), '0.43', (b.probeInsns / b.hits).toFixed(1), String(b.kernelInsns)],
      ['o (jump-optimized, 1-insn region)', String(o.hits), o.seconds.toFixed(3), us(o).toFixed(3), '0.06', (o.probeInsns / o.hits).toFixed(1), String(o.kernelInsns)],
      ['o2 (jump-optimized, 2-insn region)', String(o2.hits), o2.seconds.toFixed(3), us(o2).toFixed(3), '0.06', (o2.probeInsns / o2.hits).toFixed(1), String(o2.kernelInsns)],
      ['f (ftrace, at the mcount nop)', String(f.hits), f.seconds.toFixed(3), us(f).toFixed(3), '-', (f.probeInsns / f.hits).toFixed(1), String(f.kernelInsns)],
      ['r (kretprobe, entry single-stepped)', String(r.hits), r.seconds.toFixed(3), us(r).toFixed(3), '1.24', (r.probeInsns / r.hits).toFixed(1), String(r.kernelInsns)],
      ['rb (kretprobe, entry boosted)', String(rb.hits), rb.seconds.toFixed(3), us(rb).toFixed(3), '0.68', (rb.probeInsns / rb.hits).toFixed(1), String(rb.kernelInsns)],
      ['ro (kretprobe, entry jump-optimized)', String(ro.hits), ro.seconds.toFixed(3), us(ro).toFixed(3), '0.35', (ro.probeInsns / ro.hits).toFixed(1), String(ro.kernelInsns)],
      ['kr (kprobe + kretprobe)', String(kr.hits), kr.seconds.toFixed(3), us(kr).toFixed(3), 'close to r', (kr.probeInsns / kr.hits).toFixed(1), String(kr.kernelInsns)],
    ];
    printTable(['probe', 'hits', 'host s', 'µs/hit', 'kernel doc µs (2008)', 'overhead insns/hit', 'kernel insns'], rows);
    const rank = (xs: Run[]) => xs.every((x, i) => i === 0 || xs[i - 1].probeInsns < x.probeInsns);
    console.log(`kprobe: overhead in instructions ranks o < b < k: ${rank([o, b, k]) ? 'yes' : 'NO'}, ro < rb < r: ${rank([ro, rb, r]) ? 'yes' : 'NO'}`);
    if (!ok) console.log('kprobe: the kernel instruction count changed under probes (it must not)');
    console.log(`kprobe: kr/rb = ${(us(kr) / us(rb)).toFixed(2)} (the document: kr close to r; 2005 x86_64: 0.82/0.80 = 1.03)`);
    if (us(b) >= us(k)) console.log('kprobe: note: the boosted hit did not measure cheaper in this run (host noise?)');
    // the target (issue 8): o cheaper than the int3 path in host time; reported, not a correctness failure
    if (us(o) >= us(k)) console.log('kprobe: target NOT MET in this run: the jump-optimized hit was not cheaper than the int3 path in host time');
    console.log(`kprobe: o/k = ${(us(o) / us(k)).toFixed(2)}, o/b = ${(us(o) / us(b)).toFixed(2)} (the document: 0.06/0.99 = 0.06, 0.06/0.43 = 0.14)`);
    return ok;
  },
};
