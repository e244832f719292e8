// The headline number: one compute workload run side by side by native execution, qemu-x86_64 (when installed)
// and ktrace's emulator in user mode, with instructions, host seconds, MIPS and the ratios.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';
import { countNative, fmtM, fmtMips, fmtS, printTable, timeProgram, which } from '../lib/tools.js';
import { runUserBinary } from '../lib/usermode.js';
import type { Section } from './section.js';

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

export const compute: Section = {
  name: 'compute',
  description: 'static user-mode compute workload from the fixture kernel (lib/crc32.c, lib/compute.c): native vs qemu-x86_64 vs ktrace',
  run(opts) {
    const { path, args } = workload(opts);
    if (!existsSync(path)) { console.log(`SKIP compute: workload binary ${path} is missing`); return true; }
    console.log(`workload: ${path} ${args.join(' ')}`);
    const rows: string[][] = [];
    let ok = true;
    const canNative = process.platform === 'linux' && process.arch === 'x64';
    const native = canNative ? timeProgram(path, args) : null;
    const count = canNative ? countNative(path, args) : null;
    const emu = runUserBinary(new Uint8Array(readFileSync(path)), [path, ...args]);
    const n = count?.instructions ?? emu.instructions;
    const countNote = count ? `native count from ${count.source}` : 'instruction count from the emulator (no perf/valgrind here)';
    if (native) rows.push(['native', fmtM(n), fmtS(native.seconds), fmtMips(n, native.seconds)]);
    else console.log('SKIP native: host is not x86-64 Linux');
    let qemuSecs = 0;
    if (which('qemu-x86_64')) {
      const q = timeProgram('qemu-x86_64', [path, ...args]);
      qemuSecs = q.seconds;
      rows.push(['qemu-x86_64', fmtM(n), fmtS(q.seconds), fmtMips(n, q.seconds)]);
      if (native && q.stdout !== native.stdout) { ok = false; console.log(`MISMATCH qemu printed ${JSON.stringify(q.stdout)}`); }
      // The reference points: TCG without block chaining, and one instruction per block.
      for (const flags of [['-d', 'nochain'], ['-singlestep']]) {
        const v = timeProgram('qemu-x86_64', [...flags, path, ...args], 1);
        if (v.status === 0) rows.push([`qemu-x86_64 ${flags.join(' ')}`, fmtM(n), fmtS(v.seconds), fmtMips(n, v.seconds)]);
      }
    } else console.log('SKIP qemu-x86_64: not installed (Debian: apt-get install qemu-user)');
    rows.push(['ktrace emulator', fmtM(emu.instructions), fmtS(emu.seconds), fmtMips(emu.instructions, emu.seconds)]);
    printTable(['', 'instructions', 'seconds', 'MIPS'], rows);
    console.log(`(${countNote}; native and qemu: best of 3 runs, including process start)`);
    const emuMips = emu.instructions / emu.seconds / 1e6;
    const ratios: string[] = [];
    if (qemuSecs) ratios.push(`emulator/qemu = ${(emuMips / (n / qemuSecs / 1e6)).toFixed(3)}`);
    if (native) ratios.push(`emulator/native = ${(emuMips / (n / native.seconds / 1e6)).toFixed(4)}`);
    if (ratios.length) console.log(`ratios (MIPS): ${ratios.join(', ')}`);
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
