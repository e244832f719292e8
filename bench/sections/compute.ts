// The headline number: one compute workload run side by side by native execution, qemu-x86_64 (when installed)
// and ktrace's emulator in user mode, with instructions, host seconds, MIPS and the ratios.
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULT_VMLINUX, ROOT } from '../../src/paths.js';
import { Image } from '../../src/elf/image.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { runScript } from '../../src/kernel/session.js';
import { countNative, fmtM, fmtMips, fmtS, printTable, timeProgram, which } from '../lib/tools.js';
import { runUserBinary } from '../lib/usermode.js';
import type { Section } from './section.js';
import { wasmTier } from '../../src/emu/wasm.js';
import { goal } from '../lib/goals.js';

/**
 * The fixture's own build of its lib/crc32.c + lib/compute.c (fixtures/bench/compute, `compute [ROUNDS]`,
 * 3000 rounds ≈ 351 M instructions), else the bench's copy of the same kind of code (bench/workload/compute,
 * `compute [ITERATIONS]`, 20000 ≈ 351 M). `--iters N` passes N as the binary's argument.
 */
function workload(opts: Record<string, string>): { path: string; args: string[] } {
  const fixture = join(ROOT, 'fixtures', 'bench', 'compute');
  if (opts.workload) return { path: opts.workload, args: opts.iters ? [opts.iters] : [] };
  const n = opts.iters ?? process.env.KTRACE_BENCH_ITERS;
  if (existsSync(fixture)) return { path: fixture, args: [n ?? '3000'] };
  return { path: join(ROOT, 'bench', 'workload', 'compute'), args: [n ?? '20000'] };
}

/** `repeat N { c = ktrace_compute NULL 4096 2 }` on the fixture kernel: guest instructions and the
 *  emulation's host seconds (the run's own hostSeconds: boot restored from the snapshot, no process start),
 *  and the CPU seconds of the whole runScript call (its set-up included). */
function kernelCompute(repeat: number): { repeat: number; instructions: number; seconds: number; cpu: number } {
  const image = Image.load(readFileSync(DEFAULT_VMLINUX));
  const script = parseWorkload('kernel-compute.wl', `repeat ${repeat} {\n  c = ktrace_compute NULL 4096 2\n  expect c >= 0\n}\n`);
  const c0 = process.cpuUsage();
  const r = runScript(image, script, { cpus: 2, seed: 1, maxInsns: 20_000_000_000 });
  const cpu = cpuSince(c0);
  if (r.exitCode !== 0) throw new Error(`kernel compute workload failed: ${r.end.kind}`);
  return { repeat, instructions: r.instructions, seconds: r.hostSeconds, cpu };
}

/** CPU seconds (user + system, every thread: V8 compiles in the background) since process.cpuUsage() gave c0. */
function cpuSince(c0: NodeJS.CpuUsage): number { const d = process.cpuUsage(c0); return (d.user + d.system) / 1e6; }

/** The least user + system seconds of `repeat` runs of a program, by GNU time (null without /usr/bin/time). */
function cpuOfProgram(cmd: string, args: string[], repeat = 3): number | null {
  if (!existsSync('/usr/bin/time')) return null;
  let best = Infinity;
  for (let i = 0; i < repeat; i++) {
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S', cmd, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const m = /([\d.]+) ([\d.]+)\s*$/.exec(r.stderr ?? '');
    if (r.status !== 0 || !m) return null;
    best = Math.min(best, Number(m[1]) + Number(m[2]));
  }
  return best;
}

export const compute: Section = {
  name: 'compute',
  description: 'compute workload (lib/crc32.c, lib/compute.c): native vs qemu-x86_64 (chained, -d nochain, -singlestep) vs ktrace in user mode (with and without the wasm tier), and ktrace on the same code in the kernel',
  run(opts) {
    const { path, args } = workload(opts);
    if (!existsSync(path)) { console.log(`SKIP compute: workload binary ${path} is missing`); return true; }
    console.log(`workload: ${path} ${args.join(' ')}`);
    const rows: string[][] = [];
    let ok = true;
    const canNative = process.platform === 'linux' && process.arch === 'x64';
    const native = canNative ? timeProgram(path, args) : null;
    const nativeCpu = canNative ? cpuOfProgram(path, args) : null;
    const count = canNative ? countNative(path, args) : null;
    const e0 = process.cpuUsage();
    const emu = runUserBinary(new Uint8Array(readFileSync(path)), [path, ...args]);
    const emuCpu = cpuSince(e0);
    const n = count?.instructions ?? emu.instructions;
    const countNote = count ? `native count from ${count.source}` : 'instruction count from the emulator (no perf/valgrind here)';
    if (native) rows.push(['native', fmtM(n), fmtS(native.seconds), fmtMips(n, native.seconds)]);
    else console.log('SKIP native: host is not x86-64 Linux');
    let qemuSecs = 0, qemuCpu: number | null = null;
    if (which('qemu-x86_64')) {
      const q = timeProgram('qemu-x86_64', [path, ...args]);
      qemuSecs = q.seconds;
      qemuCpu = cpuOfProgram('qemu-x86_64', [path, ...args]);
      rows.push(['qemu-x86_64', fmtM(n), fmtS(q.seconds), fmtMips(n, q.seconds)]);
      if (native && q.stdout !== native.stdout) { ok = false; console.log(`MISMATCH qemu printed ${JSON.stringify(q.stdout)}`); }
      // The issue's reference points: TCG without block chaining, and one instruction per block.
      for (const flags of [['-d', 'nochain'], ['-singlestep']]) {
        const v = timeProgram('qemu-x86_64', [...flags, path, ...args], 1);
        if (v.status === 0) rows.push([`qemu-x86_64 ${flags.join(' ')}`, fmtM(n), fmtS(v.seconds), fmtMips(n, v.seconds)]);
      }
    } else console.log('SKIP qemu-x86_64: not installed (Debian: apt-get install qemu-user)');
    rows.push(['ktrace emulator (user mode)', fmtM(emu.instructions), fmtS(emu.seconds), fmtMips(emu.instructions, emu.seconds)]);
    // the same without the WebAssembly tier (src/emu/wasm.ts): what the JS blocks alone do
    const wasmOn = wasmTier.on;
    wasmTier.on = false;
    let jsOnly: { instructions: number; seconds: number };
    try { jsOnly = runUserBinary(new Uint8Array(readFileSync(path)), [path, ...args]); } finally { wasmTier.on = wasmOn; }
    rows.push(['ktrace emulator (user mode, wasm tier off)', fmtM(jsOnly.instructions), fmtS(jsOnly.seconds), fmtMips(jsOnly.instructions, jsOnly.seconds)]);
    // The same kind of work in the kernel: the fixture's ktrace_compute system call under the whole
    // machine (2 CPUs, timer interrupts, the workload's system calls), from the boot snapshot.
    const kern = kernelCompute(Number(opts['kernel-repeat'] ?? 400));
    rows.push([`ktrace kernel mode (repeat ${kern.repeat} ktrace_compute)`, fmtM(kern.instructions), fmtS(kern.seconds), fmtMips(kern.instructions, kern.seconds)]);
    wasmTier.on = false;
    let kjs: { repeat: number; instructions: number; seconds: number };
    try { kjs = kernelCompute(kern.repeat); } finally { wasmTier.on = wasmOn; }
    rows.push([`ktrace kernel mode, wasm tier off`, fmtM(kjs.instructions), fmtS(kjs.seconds), fmtMips(kjs.instructions, kjs.seconds)]);
    printTable(['', 'instructions', 'seconds', 'MIPS'], rows);
    console.log(`(${countNote}; native and qemu: best of 3 runs, including process start; ktrace: emulation only)`);
    const emuMips = emu.instructions / emu.seconds / 1e6;
    const ratios: string[] = [];
    if (qemuSecs) ratios.push(`emulator/qemu = ${(emuMips / (n / qemuSecs / 1e6)).toFixed(3)} (goal >= 0.5)`);
    if (native) ratios.push(`emulator/native = ${(emuMips / (n / native.seconds / 1e6)).toFixed(4)}`);
    ratios.push(`kernel/user mode = ${(kern.instructions / kern.seconds / 1e6 / emuMips).toFixed(3)} (goal >= 0.8)`);
    if (ratios.length) console.log(`ratios (MIPS): ${ratios.join(', ')}`);
    // the same ratios on CPU seconds (user + system, ktrace's background compile threads included): on a
    // loaded machine wall time says more about the other processes than about the emulator
    const cpuRatios: string[] = [];
    const cpuMips = (insns: number, s: number | null) => (s ? insns / s / 1e6 : 0);
    const emuCpuMips = cpuMips(emu.instructions, emuCpu);
    if (qemuCpu) cpuRatios.push(`emulator/qemu = ${(emuCpuMips / cpuMips(n, qemuCpu)).toFixed(3)}`);
    if (nativeCpu) cpuRatios.push(`emulator/native = ${(emuCpuMips / cpuMips(n, nativeCpu)).toFixed(4)}`);
    cpuRatios.push(`kernel/user mode = ${(cpuMips(kern.instructions, kern.cpu) / emuCpuMips).toFixed(3)}`);
    // issue 16's rows (bench/lib/goals.ts): on wall-clock MIPS and on MIPS per CPU second
    const kernUser = kern.instructions / kern.seconds / 1e6 / emuMips, kernUserCpu = cpuMips(kern.instructions, kern.cpu) / emuCpuMips;
    if (qemuSecs) {
      const w = emuMips / (n / qemuSecs / 1e6), cq = qemuCpu ? emuCpuMips / cpuMips(n, qemuCpu) : NaN;
      goal('user-mode compute, ktrace / qemu-x86_64 MIPS (wall; CPU s)', `${w.toFixed(2)}; ${Number.isNaN(cq) ? '-' : cq.toFixed(2)}`, '>= 0.5', w >= 0.5 && !(cq < 0.5));
    } else goal('user-mode compute, ktrace / qemu-x86_64 MIPS', 'no qemu-x86_64', '>= 0.5', false);
    goal('kernel-mode MIPS / user-mode MIPS (wall; CPU s)', `${kernUser.toFixed(2)}; ${kernUserCpu.toFixed(2)}`, '>= 0.8', kernUser >= 0.8 && kernUserCpu >= 0.8);
    console.log(`CPU seconds: ${nativeCpu !== null ? `native ${fmtS(nativeCpu)}, ` : ''}${qemuCpu !== null ? `qemu-x86_64 ${fmtS(qemuCpu)}, ` : ''}` +
      `ktrace user mode ${fmtS(emuCpu)}, kernel mode ${fmtS(kern.cpu)} (with the run's set-up); ratios (MIPS per CPU second): ${cpuRatios.join(', ')}`);
    if (native && emu.stdout !== native.stdout) {
      ok = false;
      console.log(`MISMATCH emulator printed ${JSON.stringify(emu.stdout)}, native ${JSON.stringify(native.stdout)}`);
    } else console.log(`output: ${emu.stdout.trim()}${native ? ' (same natively)' : ''}`);
    if (count && Math.abs(count.instructions - emu.instructions) > 1000) {
      console.log(`NOTE emulator retired ${emu.instructions} instructions, the host ${count.instructions}`);
    }
    return ok;
  },
};
