import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { foldRun, foldTrace, selectEvents } from '../../src/cli/run-probes.js';
import { uniform } from '../prng.js';
import { TraceRing, BUFFER_SIZE_KB } from '../../src/trace/runtime/ring.js';
import { loadTracing } from '../../src/cli/tracing.js';
import { fixtureImage, FIXTURE } from '../elf/fixture.js';
import { specCompiler } from '../../src/trace/perf-probe/spec-compiler.js';
import { emptyTraceState } from '../../src/trace/runtime/state.js';
import { showProbe, type ProbeDef } from '../../src/trace/kprobe-events/index.js';
import { STATE_VERSION } from '../../src/cli/state/store.js';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAIN, freshState, tempDir } from './run.js';

const probe = (event: string): ProbeDef => ({ type: 'p', group: 'kprobes', event, symbol: 'vfs_read', offset: 0, maxactive: 0, args: [], flags: {} as ProbeDef['flags'], argv: [] });

test('foldRun adds counters of stored events only, appends trace lines, advances the clock', () => {
  const s = { version: STATE_VERSION, ...emptyTraceState(), kprobeEvents: 'p:kprobes/a vfs_read\n', profile: { 'p:kprobes/a vfs_read': [2, 1] as [number, number] }, trace: 'old\n', traceEntries: 1, traceWritten: 1 };
  const f = foldRun(s, [{ probe: probe('a'), hits: 3, misses: 0 }, { probe: probe('tmp'), hits: 9, misses: 0 }], ['l1\n', 'l2\n'], 4, 1000, showProbe);
  assert.equal(f.profile, { 'p:kprobes/a vfs_read': [5, 1] });
  assert.is(f.trace, 'old\nl1\nl2\n');
  assert.is(f.traceEntries, 3);
  assert.is(f.traceWritten, 3);
  assert.is(f.cpus, 4);
  assert.is(f.clockNs, '1000');
});

test('foldRun: an event deleted and re-added while the run went (a new generation) does not get the old run\'s counts', () => {
  const base = { version: STATE_VERSION, ...emptyTraceState(), kprobeEvents: 'p:kprobes/a vfs_read\n', profile: { 'p:kprobes/a vfs_read': [0, 0] as [number, number] } };
  const counts = [{ probe: probe('a'), hits: 3, misses: 0 }];
  // The run began with generation 1 of kprobes/a.
  assert.equal(foldRun({ ...base, gens: { 'kprobes/a': 1 } }, counts, [], 2, 0, showProbe, { 'kprobes/a': 1 }).profile, { 'p:kprobes/a vfs_read': [3, 0] });
  assert.equal(foldRun({ ...base, gens: { 'kprobes/a': 2 } }, counts, [], 2, 0, showProbe, { 'kprobes/a': 1 }).profile, { 'p:kprobes/a vfs_read': [0, 0] });
});

const line = (cpu: number, i: number) => `            init-1       [00${cpu}] d.Z..     0.${String(i).padStart(6, '0')}: e: (vfs_read+0x0/0x80) n=${String(i).padStart(6, '0')}\n`;

test('the stored trace is a per-CPU ring buffer of buffer_size_kb: a full CPU loses its oldest, the others keep theirs', () => {
  const s = { version: STATE_VERSION, ...emptyTraceState() };
  const per = Math.floor((BUFFER_SIZE_KB * 1024) / line(0, 0).length);
  // CPU 0 writes three buffers' worth, CPU 1 a handful, interleaved in time.
  const lines: string[] = [];
  for (let i = 0; i < 3 * per; i++) { lines.push(line(0, i)); if (i % 1000 === 0) lines.push(line(1, i)); }
  const f = foldRun(s, [], lines, 2, 0, showProbe);
  assert.is(f.traceWritten, lines.length);
  const kept = f.trace.split('\n').slice(0, -1).map((l) => l + '\n');
  const cpu1 = lines.filter((l) => l.includes('[001]'));
  assert.equal(kept.filter((l) => l.includes('[001]')), cpu1);
  const cpu0 = kept.filter((l) => l.includes('[000]'));
  assert.is(cpu0.length, per);
  assert.equal(cpu0, lines.filter((l) => l.includes('[000]')).slice(-per));
  assert.is(f.traceEntries, per + cpu1.length);
  // Kept in trace order: the lines that survived, as they were.
  const keptSet = new Set(kept);
  assert.equal(kept, lines.filter((l) => keptSet.has(l)));
  // Folding the run's own ring (what it kept while running) gives the same state as all its lines.
  const ring = new TraceRing();
  for (const l of lines) ring.push(l);
  assert.equal(foldRun(s, [], ring, 2, 0, showProbe), f);
  // A second run appends to what is stored, under the same bound.
  const g = foldRun(f, [], [line(1, 9)], 2, 0, showProbe);
  assert.is(g.traceWritten, lines.length + 1);
  assert.is(g.traceEntries, f.traceEntries + 1);
  assert.ok(g.trace.endsWith(line(1, 9)));
});

test('-a through the debug info: one compile when the names it picks are free, a second with the taken names when not', async () => {
  const t = await loadTracing({ canProbe: true });
  const image = fixtureImage();
  const compile = specCompiler(image, FIXTURE)!;
  let calls = 0;
  const specLines = (spec: string, taken: (g: string, e: string) => boolean) => { calls++; return compile([spec], { taken, force: true, command: `run: -a ${spec}` }); };
  const empty = { version: STATE_VERSION, ...emptyTraceState() };
  const fresh = await selectEvents(t, image, empty, [], ['vfs_read count'], specLines);
  assert.equal(fresh.selected, ['probe/vfs_read']);
  assert.is(calls, 1);
  // probe/vfs_read is taken by another definition: the run's event gets the next free name, as add does
  calls = 0;
  const stored = { ...empty, kprobeEvents: 'p:probe/vfs_read vfs_read\n' };
  const clash = await selectEvents(t, image, stored, [], ['vfs_read count'], specLines);
  assert.equal(clash.selected, ['probe/vfs_read_1']);
  assert.is(calls, 2);
  assert.equal(clash.state.kprobeEvents.split('\n')[0], 'p:probe/vfs_read vfs_read');
  // the same definition as a stored event reuses it
  calls = 0;
  const same = await selectEvents(t, image, stored, [], ['vfs_read'], specLines);
  assert.equal(same.selected, ['probe/vfs_read']);
  assert.is(calls, 1);
});

test('foldTrace keeps what the ring buffer keeps, on the strings: random traces on 1-3 CPUs, stack entries, overflow; not well-formed text is left to the ring', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const rnd = uniform(seed);
    const cpus = 1 + Math.floor(rnd() * 3), limit = 200 + Math.floor(rnd() * 2000);
    const entry = (i: number) => {
      const cpu = Math.floor(rnd() * cpus);
      let e = `  comm-${i}  [00${cpu}] d.Z..  0.${String(i).padStart(6, '0')}: e: ${'x'.repeat(Math.floor(rnd() * 150))}${rnd() < 0.1 ? ' é€' : ''}\n`;
      if (rnd() < 0.15) e += ' => vfs_read+0x0/0x80\n => ksys_read+0x5/0x40\n';
      return e;
    };
    const stored = Array.from({ length: Math.floor(rnd() * 30) }, (_, i) => entry(i)).join('');
    const run = Array.from({ length: Math.floor(rnd() * 30) }, (_, i) => entry(100 + i));
    const ring = TraceRing.of(stored, limit);
    for (const l of run) ring.push(l);
    assert.equal(foldTrace(stored, run, limit), { text: ring.text(), entries: ring.entries }, `seed ${seed}`);
  }
  assert.is(foldTrace('  a-1  [000] ....  0.000001: e: \udc80\n', [], 1000), undefined);
  assert.is(foldTrace('', ['  a-1  [000] ....  0.000001: e: \ud800\n'], 1000), undefined);
});

test('a stored event the kernel refuses (saved before add checked it) fails the run with why, never silently dropped', async () => {
  const t = await loadTracing({ canProbe: true });
  const s = { version: STATE_VERSION, ...emptyTraceState(), kprobeEvents: 'p:probe/vfs_read vfs_read\np:probe/do_idle do_idle+49\n' };
  let msg = '';
  try { await selectEvents(t, fixtureImage(), s, [], []); } catch (e) { msg = (e as Error).message; }
  assert.is(msg, "run: the stored event 'p:probe/do_idle do_idle+49' cannot be registered on this kernel (-95: do_idle+0x31/0xa0: hlt cannot be executed out of line); remove it with `ktrace del`");
  // The run's selection follows the kernel: the enabled events (plus -e matches and -a probes).
  const off = await selectEvents(t, fixtureImage(), { ...s, kprobeEvents: 'p:probe/vfs_read vfs_read\n' }, [], []);
  assert.equal(off.selected, []);
  const ok = await selectEvents(t, fixtureImage(), { ...s, kprobeEvents: 'p:probe/vfs_read vfs_read\n', enabled: ['probe/vfs_read'] }, [], []);
  assert.equal(ok.selected, ['probe/vfs_read']);
  assert.equal((await selectEvents(t, fixtureImage(), { ...s, kprobeEvents: 'p:probe/vfs_read vfs_read\n' }, ['vfs_*'], [])).selected, ['probe/vfs_read']);
});

test("a :ustring argument's UTF-8 bytes reach the trace text byte for byte (and the JSON as text)", () => {
  const wl = join(tempDir('ktrace-utf8-'), 'u.wl');
  writeFileSync(wl, 'f = openat "/tmp/caf\\xc3\\xa9" O_CREAT|O_WRONLY 0644\n');
  const r = spawnSync(process.execPath, [MAIN, 'run', wl, '-a', 'do_sys_openat2 filename:ustring'], { env: { ...process.env, KTRACE_STATE: freshState() } });
  assert.is(r.status, 0, String(r.stderr));
  const want = Buffer.from('filename_ustring="/tmp/caf\xc3\xa9"', 'latin1');
  assert.ok(r.stdout.includes(want), r.stdout.toString('latin1'));
  const j = spawnSync(process.execPath, [MAIN, 'run', wl, '-a', 'do_sys_openat2 filename:ustring', '--json'], { encoding: 'utf8', env: { ...process.env, KTRACE_STATE: freshState() } });
  assert.is(JSON.parse(j.stdout.split('\n')[0]!).args.filename_ustring, '/tmp/caf\u00e9');
});

test('bytes that are not UTF-8 reach stdout, -o FILE, the trace and trace_pipe as themselves (the kernel prints "%s"); JSON has them in base64', () => {
  const dir = tempDir('ktrace-bytes-');
  const wl = join(dir, 'b.wl');
  writeFileSync(wl, 'f = openat "/tmp/a\\xff\\xfeb" O_CREAT|O_WRONLY 0644\nexpect f >= 3\n');
  const env = { ...process.env, KTRACE_STATE: freshState() };
  const run = (...a: string[]) => spawnSync(process.execPath, [MAIN, ...a], { env });
  const want = Buffer.from('filename_ustring="/tmp/a\xff\xfeb"\n', 'latin1');
  const r = run('run', wl, '-a', 'do_sys_openat2 filename:ustring', '--trace', '-o', join(dir, 'out.txt'));
  assert.is(r.status, 0, String(r.stderr));
  assert.ok(r.stdout.includes(want), r.stdout.toString('hex'));
  assert.ok(readFileSync(join(dir, 'out.txt')).includes(want), '-o FILE text');
  assert.ok(run('fs', 'cat', 'trace').stdout.includes(want), 'trace');
  assert.ok(run('fs', 'cat', 'trace_pipe').stdout.includes(want), 'trace_pipe');
  const j = spawnSync(process.execPath, [MAIN, 'run', wl, '-a', 'do_sys_openat2 filename:ustring', '--json'], { encoding: 'utf8', env: { ...process.env, KTRACE_STATE: freshState() } });
  const e = JSON.parse(j.stdout.split('\n')[0]!);
  assert.is(e.args.filename_ustring, '/tmp/a\ufffd\ufffdb');
  assert.is(Buffer.from(e.rawArgs.filename_ustring, 'base64').toString('latin1'), '/tmp/a\xff\xfeb');
});

test.run();
