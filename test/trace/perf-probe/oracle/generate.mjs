#!/usr/bin/env node
// Records what real `perf probe` (linux-perf) prints for the fixture kernel, the oracle of
// perf-oracle.test.ts: -D (the kprobe_events lines a spec compiles to), -V (available variables),
// -L (probe-able source lines) and -F (functions), for every function of the fixture, every C source
// line with code (SRC:LINE, -D and -V), FUNC:1..8, FUNC;*return*, each variable -V lists fetched by name, lazy
// patterns per file (SRC;PTN) and a list of hand-picked specs. perf is run offline (-k vmlinux -s
// sources); -D's types depend on the running kernel's tracing README (x8..x64 when it lists them, as
// ktrace's emulated README does). perf probe waits more than it computes (0.5 s wall, 0.15 s CPU a
// call here), so calls run JOBS at a time (default 8); the cases keep the order in which they are
// added. About 5 minutes on 2 cores.
// Usage: node test/trace/perf-probe/oracle/generate.mjs   (needs perf; rewrites perf.json.gz)
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

const root = new URL('../../../../', import.meta.url).pathname;
const vmlinux = join(root, 'fixtures/vmlinux');
const src = join(root, 'fixtures/kernel');
const perf = (...args) => {
  const r = spawnSync('perf', ['probe', '-q', '-k', vmlinux, '-s', src, ...args], { encoding: 'utf8', env: { ...process.env, PAGER: 'cat', LC_ALL: 'C' } });
  if (r.error) { console.error(`perf: ${r.error.message}`); process.exit(2); }
  return { stdout: r.stdout, ok: r.status === 0 };
};
const perfAsync = (...args) => new Promise((resolve) => {
  const p = spawn('perf', ['probe', '-q', '-k', vmlinux, '-s', src, ...args], { env: { ...process.env, PAGER: 'cat', LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  p.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  p.on('error', (e) => { console.error(`perf: ${e.message}`); process.exit(2); });
  p.on('close', (code) => resolve({ stdout, ok: code === 0 }));
});
const JOBS = Number(process.env.JOBS ?? 8);
const version = spawnSync('perf', ['--version'], { encoding: 'utf8' }).stdout.trim();
const funcs = perf('-F').stdout.trim().split('\n');
const hand = JSON.parse(readFileSync(new URL('./specs.json', import.meta.url), 'utf8'));
const cases = [];
// perf 6.1's -L is not deterministic for a few functions here (which lines of an inlined copy it
// numbers differs from run to run): each -L case runs twice, and a second answer is kept as an
// alternative (the test accepts either).
const one = async (mode, spec) => {
  const flag = { D: '-D', V: '-V', L: '-L' }[mode];
  const first = await perfAsync(flag, spec);
  const c = { mode, spec, ...first };
  if (mode === 'L') {
    const again = await perfAsync(flag, spec);
    if (again.stdout !== first.stdout || again.ok !== first.ok) c.alternatives = [again.stdout];
  }
  return c;
};
// Cases are queued by add() and recorded, in order, by flush().
let queue = [];
const add = (mode, spec) => { queue.push([mode, spec]); };
const flush = async () => {
  const todo = queue, out = new Array(todo.length);
  queue = [];
  let next = 0;
  await Promise.all(Array.from({ length: JOBS }, async () => {
    while (next < todo.length) { const i = next++; out[i] = await one(...todo[i]); }
  }));
  cases.push(...out);
};
for (const f of funcs) {
  add('D', f);
  add('D', `${f}%return $retval`);
  add('D', `${f} $params`);
  add('D', `${f} $vars`);
  add('V', f);
  add('L', f);
  // FUNC:RLN on the first lines of the body (many have no code: perf's refusals are cases too).
  for (let k = 1; k <= 8; k++) add('D', `${f}:${k}`);
  // FUNC;PTN: the function's lines that return.
  add('D', `${f};*return*`);
}
for (const [mode, specs] of Object.entries(hand)) for (const s of specs) add(mode, s);
await flush();
// Each variable -V lists at a function, fetched by name there (-D FUNC VAR).
for (const c of [...cases]) {
  if (c.mode !== 'V' || !c.ok || !/^[A-Za-z_]\w*$/.test(c.spec)) continue;
  const names = new Set([...c.stdout.matchAll(/^\t\t.*\t(\w+)$/gm)].map((m) => m[1]));
  for (const n of names) add('D', `${c.spec} ${n}`);
}
// Every C source line with a statement row in the line table, as SRC:LINE, and a few lazy patterns
// per source file, as SRC;PTN (the rows from readelf, the paths relative to the -s directory).
const decoded = spawnSync('readelf', ['--debug-dump=decodedline', vmlinux], { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout;
const byBase = new Map();
const walk = (dir, rel) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(dir, e.name), rel ? `${rel}/${e.name}` : e.name);
    else if (/\.[ch]$/.test(e.name)) byBase.set(e.name, [...byBase.get(e.name) ?? [], rel ? `${rel}/${e.name}` : e.name]);
  }
};
walk(src, '');
const lines = new Map();
for (const l of decoded.split('\n')) {
  const m = /^(\S+\.[ch])\s+(\d+)\s+0x[0-9a-f]+(?:\s+\d+)?\s+x\s*$/.exec(l);
  const paths = m && byBase.get(m[1]);
  if (!paths || paths.length !== 1) continue;
  if (!lines.has(paths[0])) lines.set(paths[0], new Set());
  lines.get(paths[0]).add(Number(m[2]));
}
for (const [path, set] of [...lines].sort()) {
  for (const n of [...set].sort((a, b) => a - b)) { add('D', `${path}:${n}`); add('V', `${path}:${n}`); }
  for (const ptn of ['*return*', '*if (*', '* = *', '*(*']) add('D', `${path};${ptn}`);
}
await flush();
const vmlinuxSha256 = createHash('sha256').update(readFileSync(vmlinux)).digest('hex');
const out = { perf: version, vmlinuxSha256, funcs, cases };
writeFileSync(new URL('./perf.json.gz', import.meta.url), gzipSync(JSON.stringify(out, null, 1)));
console.log(`${version}: ${funcs.length} functions, ${cases.length} cases, ${cases.filter((c) => !c.ok).length} failing in perf`);
