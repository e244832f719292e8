#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with uvu, one process per file group,
// and ends with the plain totals line CI reads: "N passed, N failed".
// KTRACE_LONG=1 selects the exhaustive sizes; the default run uses seeded samples.
//
// The files share one cache directory made for the run ($XDG_CACHE_HOME of every file, removed at the
// end; KTRACE_TEST_CACHE=DIR uses DIR instead and keeps it): the user's ~/.cache is never written, and
// what one file builds (the bundled Linux expanded, its boot snapshots, indexes) the next one reuses.
// The real distribution vmlinux that scripts/real-vmlinux.sh fetched into the user's cache is linked
// in, read-only. A file whose header says "linux-snapshots: 1 2" restores the bundled Linux's boot
// snapshot on those CPU counts: each snapshot is made once, first (test/kernel/linux/prepare-snapshots),
// and such files start only once theirs are there, so no two files boot Linux cold for the same one.
// The slowest files start first, so that the jobs end together.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');
const filter = process.argv[2] ? new RegExp(process.argv[2]) : null;

function walk(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = walk(testDir).filter((f) => !filter || filter.test(relative(testDir, f)));
let passed = 0, failed = 0, skipped = 0;
const failures = [];
const jobs = Math.max(1, Number(process.env.KTRACE_TEST_JOBS || 2));
// A test file that runs longer than this is killed and counted as failed: a hung test must not hang CI.
const FILE_LIMIT_MS = Number(process.env.KTRACE_TEST_FILE_LIMIT_S || (process.env.KTRACE_LONG ? 5400 : 900)) * 1000;
// Terminal UI tests wait on ink's renders by time: they run last, one at a time, with nothing beside them.
const ALONE = /(^|\/)tui[/.]/;
// The files known to take longest (seconds of a fresh clone's CI run on a quiet machine, session 8; the
// Linux files without the boots now made first): they start first, the slowest first, so that no job is
// left with a long file at the end. A file not named here starts after them, in path order.
const SLOW_FIRST = [
  'kernel/sweep-linux.test.js', // 97
  'kprobe/sweep.test.js', // 84
  'cli/fs.test.js', // 54
  'kernel/linux/session.test.js', // 52 (74 with its boot)
  'emu/runtime.test.js', // 48
  'cli/add.test.js', // 43
  'kernel/session.test.js', // 40
  'kernel/snapshot-linux.test.js', // 38 (one cold boot of its own, on purpose)
  'kprobe/optimizer.test.js', // 30
  'cli/run.test.js', // 28
  'cli/kprobe-selftests-linux.test.js', // 28
  'emu/compile.test.js', // 27
  'cli/ftrace-selftests.test.js', // 24
  'kprobe/kretprobe.test.js', // 23
  'cli/main.test.js', // 21
  'cli/why.test.js', // 20
  'cli/debug-index.test.js', // 19
  'cli/symbol-index.test.js', // 19
  'lib/kernel.test.js', // 16
];

// ---- the run's cache ----
// the user's cache root, as ktrace finds it (built before any test runs)
const { cacheRoot } = await import(join(root, 'dist', 'src', 'cache.js'));
const keep = process.env.KTRACE_TEST_CACHE && resolve(process.env.KTRACE_TEST_CACHE);
const cacheHome = keep || mkdtempSync(join(tmpdir(), 'ktrace-test-cache-'));
if (keep) mkdirSync(keep, { recursive: true });
const removeCache = () => { if (!keep) rmSync(cacheHome, { recursive: true, force: true }); };
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => { removeCache(); process.exit(130); });
{
  // the fetched real image (and its source tree): an input, linked
  const real = join(cacheRoot(), 'vmlinux'), here = join(cacheHome, 'ktrace', 'vmlinux');
  if (existsSync(real) && !existsSync(here)) {
    mkdirSync(join(cacheHome, 'ktrace'), { recursive: true });
    symlinkSync(real, here);
  }
}
const env = { ...process.env, FORCE_COLOR: '0', XDG_CACHE_HOME: cacheHome };

// CPU seconds (user + system) of the children this process has waited for, with theirs (Linux's
// /proc/self/stat cutime and cstime; null elsewhere): a file's is the growth while it ran and was reaped.
function childCpu() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / 100; // fields 16 and 17, in USER_HZ (100 on Linux)
  } catch { return null; }
}
const timings = [];
const suiteStart = Date.now();
let cpuSeen = childCpu();

/** Runs one node script; resolves with its exit code and output, its time printed. */
function spawnTimed(args, label, report) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      out += `\nkilled: still running after ${FILE_LIMIT_MS / 1000} s\n`;
      child.kill('SIGKILL');
    }, FILE_LIMIT_MS);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      const secs = (Date.now() - started) / 1000, now = childCpu(), cpu = now === null ? null : now - cpuSeen;
      cpuSeen = now;
      timings.push({ rel: label, secs, cpu });
      const { fail, counts } = report(code, out);
      process.stdout.write(`${fail ? 'FAIL' : 'ok  '} ${label}  (${counts}${secs.toFixed(1)}s${cpu === null ? '' : `, cpu ${cpu.toFixed(1)}s`})\n`);
      const notes = out.split('\n').filter((l) => /^\s*(SKIP|NOTE)\b/.test(l));
      for (const n of notes) process.stdout.write('     ' + n.trim() + '\n');
      if (fail) failures.push({ rel: label, out });
      resolve();
    });
  });
}

function runOne(file) {
  return spawnTimed([file], relative(testDir, file), (code, out) => {
    const t = /Total:\s+(\d+)/.exec(out), p = /Passed:\s+(\d+)/.exec(out), s = /Skipped:\s+(\d+)/.exec(out);
    const total = t ? +t[1] : 0, pass = p ? +p[1] : 0, skip = s ? +s[1] : 0;
    let fail = total - pass - skip;
    if (code !== 0 && fail === 0) fail = 1; // crashed before reporting
    passed += pass; failed += fail; skipped += skip;
    return { fail, counts: `${pass} passed${fail ? `, ${fail} failed` : ''}${skip ? `, ${skip} skipped` : ''}, ` };
  });
}

const PREPARE = join(testDir, 'kernel', 'linux', 'prepare-snapshots.js');
function prepare(cpus) {
  return spawnTimed([PREPARE, String(cpus)], `(the Linux boot snapshot on ${cpus} CPU${cpus > 1 ? 's' : ''}, made first)`, (code) => {
    if (code !== 0) failed++;
    return { fail: code !== 0 ? 1 : 0, counts: '' };
  });
}

/** The CPU counts whose Linux boot snapshot a compiled test file restores (its "linux-snapshots:" line). */
function snapshotsOf(file) {
  const m = /^\/\/ linux-snapshots: ([\d ]+)(?:\s|$)/m.exec(readFileSync(file, 'utf8'));
  return m ? m[1].trim().split(/\s+/).map(Number) : [];
}

// ---- the schedule ----
const rank = (f) => { const r = relative(testDir, f); const i = SLOW_FIRST.findIndex((s) => r === s); return i < 0 ? SLOW_FIRST.length : i; };
const queue = files.filter((f) => !ALONE.test(relative(testDir, f)))
  .map((f, i) => ({ f, i, needs: snapshotsOf(f) }))
  .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
  .map(({ f, needs }) => ({ run: () => runOne(f), needs }));
const cpuCounts = [...new Set(queue.flatMap((t) => t.needs))].sort((a, b) => b - a);
const ready = new Set();
const waiting = new Map(); // CPU count -> its snapshot being made
if (cpuCounts.length && !existsSync(PREPARE)) throw new Error(`${PREPARE}: missing (npm run build)`);
// the snapshots first (the most CPUs, the longest boot, first)
queue.unshift(...cpuCounts.map((c) => ({ run: () => prepare(c).then(() => { ready.add(c); }), needs: [], cpus: c })));

async function worker() {
  for (;;) {
    if (queue.length === 0) return;
    const i = queue.findIndex((t) => t.needs.every((c) => ready.has(c)));
    if (i < 0 && waiting.size > 0) { await Promise.race(waiting.values()); continue; }
    const [t] = queue.splice(Math.max(i, 0), 1);
    const p = t.run();
    if (t.cpus !== undefined) waiting.set(t.cpus, p);
    await p;
    if (t.cpus !== undefined) waiting.delete(t.cpus);
  }
}

try {
  await Promise.all(Array.from({ length: jobs }, worker));
  for (const f of files.filter((f) => ALONE.test(relative(testDir, f)))) await runOne(f);
} finally {
  removeCache();
}
for (const f of failures) process.stdout.write(`\n---- ${f.rel} ----\n${f.out}\n`);
if (files.length === 0) { process.stdout.write('no test files found\n'); failed++; }
if (timings.length > 1) {
  const cpuKnown = timings.every((t) => t.cpu !== null);
  const by = cpuKnown ? (t) => t.cpu : (t) => t.secs;
  const top = [...timings].sort((a, b) => by(b) - by(a)).slice(0, 15);
  const total = timings.reduce((n, t) => n + by(t), 0);
  process.stdout.write(`\nslowest (${cpuKnown ? 'CPU' : 'wall'} seconds; all ${timings.length}: ${total.toFixed(0)} s${cpuKnown ? ' CPU' : ''}, ${((Date.now() - suiteStart) / 1000).toFixed(0)} s wall):\n`);
  for (const t of top) process.stdout.write(`  ${by(t).toFixed(1).padStart(7)}  ${t.rel}\n`);
}
process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed ? 1 : 0);
