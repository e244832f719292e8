// The headline number: one compute workload run side by side by native execution, qemu-x86_64 (when installed)
// and ktrace's emulator in user mode, with instructions, host seconds, MIPS and the ratios.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';
import { countNative, fmtM, fmtMips, fmtS, printTable, timeProgram, which } from '../lib/tools.js';
import { runUserBinary } from '../lib/usermode.js';
import type { Section } from './section.js';

/** The fixture's own build of its compute code when present, else the bench's copy (bench/workload). */
function workload(opts: Record<string, string>): { path: string; args: string[] } {
  const iters = opts.iters ?? process.env.KTRACE_BENCH_ITERS ?? '20000';
  if (opts.workload) return { path: opts.workload, args: [iters] };
  return { path: join(ROOT, 'bench', 'workload', 'compute'), args: [iters] };
}

export const compute: Section = {
  name: 'compute',
  description: 'static user-mode compute workload (crc32, jump-table switch, recursion, strcmp): native vs qemu-x86_64 vs ktrace',
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
