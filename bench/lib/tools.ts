// Host-side measuring helpers for the benchmark: timing external programs, counting their instructions
// (perf when the PMU is visible, else valgrind's callgrind, cached), and printing aligned tables.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Timed { seconds: number; stdout: string; status: number | null }

/** A whole process's run: wall seconds, CPU seconds (user + sys) and peak RSS in MiB from GNU time when installed. */
export interface ProcessRun { wall: number; cpu: number | undefined; rssMB: number | undefined; status: number | null; stdout: string; stderr: string }

export const GNU_TIME = '/usr/bin/time';

/** One whole-process run: wall seconds from here, CPU seconds and peak RSS from GNU time when it is installed. */
export function timedRun(cmd: string, args: string[], env: NodeJS.ProcessEnv): ProcessRun {
  const timeFile = join(tmpdir(), `ktrace-bench-time-${process.pid}`);
  const useTime = existsSync(GNU_TIME);
  const t0 = process.hrtime.bigint();
  const r = useTime
    ? spawnSync(GNU_TIME, ['-f', '%M %U %S', '-o', timeFile, cmd, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 28 })
    : spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 1 << 28 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  let rssMB: number | undefined, cpu: number | undefined;
  if (useTime) {
    try {
      const lines = readFileSync(timeFile, 'utf8').trim().split('\n');
      const [m, u, sys] = lines[lines.length - 1]!.split(' ').map(Number);
      rssMB = m! / 1024;
      if (Number.isFinite(u) && Number.isFinite(sys)) cpu = u! + sys!;
    } catch { /* no figure */ }
    rmSync(timeFile, { force: true });
  }
  return { wall, cpu, rssMB, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs a program `repeat` times and keeps the fastest wall-clock time (the least disturbed run). */
export function timeProgram(cmd: string, args: string[], repeat = 3): Timed {
  let best: Timed | null = null;
  for (let i = 0; i < repeat; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.error) throw r.error;
    if (!best || seconds < best.seconds) best = { seconds, stdout: r.stdout, status: r.status };
  }
  return best!;
}

export function which(cmd: string): boolean {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim().length > 0;
}

export interface Count { instructions: number; source: string }

const CACHE = join(tmpdir(), 'ktrace-bench-cache', 'instructions.json');

/**
 * Instructions a native run retires in user mode: `perf stat -e instructions:u` when the PMU is available,
 * else callgrind's "I refs" (slow, so cached by binary hash and arguments), else null.
 */
export function countNative(binary: string, args: string[]): Count | null {
  const r = spawnSync('perf', ['stat', '-x', ',', '-e', 'instructions:u', binary, ...args], { encoding: 'utf8' });
  if (!r.error && r.status === 0) {
    const line = r.stderr.split('\n').find((l) => l.includes('instructions'));
    const n = line ? Number(line.split(',')[0]) : NaN;
    if (Number.isFinite(n) && n > 0) return { instructions: n, source: 'perf stat' };
  }
  const key = createHash('sha256').update(readFileSync(binary)).update('\0' + args.join('\0')).digest('hex');
  let cache: Record<string, number> = {};
  try { cache = JSON.parse(readFileSync(CACHE, 'utf8')); } catch { /* no cache yet */ }
  if (cache[key]) return { instructions: cache[key], source: 'callgrind (cached)' };
  if (!which('valgrind')) return null;
  const v = spawnSync('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', binary, ...args],
    { encoding: 'utf8', maxBuffer: 1 << 24 });
  const m = /Collected\s*:\s*(\d+)/.exec(v.stderr ?? '');
  if (!m) return null;
  cache[key] = Number(m[1]);
  try {
    if (!existsSync(join(tmpdir(), 'ktrace-bench-cache'))) mkdirSync(join(tmpdir(), 'ktrace-bench-cache'), { recursive: true });
    writeFileSync(CACHE, JSON.stringify(cache, null, 1));
  } catch { /* caching is best effort */ }
  return { instructions: cache[key], source: 'callgrind' };
}

/** Prints rows as an aligned table: first column left-aligned, the others right-aligned. */
export function printTable(head: string[], rows: string[][]): void {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(fmt(head));
  for (const r of rows) console.log(fmt(r));
}

/** The middle value (the upper middle for an even count): the figure to quote on a noisy host. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

export const fmtM = (n: number) => (n / 1e6).toFixed(1) + ' M';
export const fmtS = (s: number) => s.toFixed(3);
export const fmtMips = (n: number, s: number) => (n / s / 1e6).toFixed(1);
