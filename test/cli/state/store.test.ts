import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, copyFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { rng } from './fuzz-worker.js';
import { fileURLToPath } from 'node:url';
import { readState, writeState, updateState, loadState, STATE_VERSION, STATE_FILE } from '../../../src/cli/state/store.js';
import { emptyTraceState } from '../../../src/trace/runtime/state.js';
import { CliError } from '../../../src/cli/errors.js';
import { FIXTURE } from '../../elf/fixture.js';
import { MAIN, tempDir } from '../run.js';

const dir = () => tempDir('ktrace-store-');
const HERE = dirname(fileURLToPath(import.meta.url));

test('an empty directory reads as empty state; writes round-trip', () => {
  const d = dir();
  const s = readState(d);
  assert.is(s.kprobeEvents, '');
  assert.is(s.kprobesEnabled, true);
  writeState(d, { ...s, kprobeEvents: 'p:kprobes/x vfs_read\n' });
  assert.is(readState(d).kprobeEvents, 'p:kprobes/x vfs_read\n');
  assert.equal(readdirSync(d), [STATE_FILE], 'no temporary file left');
});

test('a state made for another vmlinux is refused with a clear message; del -a style force adopts', () => {
  const d = dir();
  updateState(d, FIXTURE, (s) => ({ state: { ...s, kprobeEvents: 'p:kprobes/x vfs_read\n' }, result: 0 }));
  const other = join(dir(), 'vmlinux');
  copyFileSync(FIXTURE, other);
  writeFileSync(other, Buffer.concat([readFileSync(other), Buffer.from('x')]));
  assert.throws(() => loadState(d, other), (e: unknown) => e instanceof CliError && /defined on another vmlinux .*ktrace del -a.*--state/.test((e as Error).message));
  updateState(d, other, (s) => ({ state: { ...s, kprobeEvents: '' }, result: 0 }), { force: true });
  assert.is(loadState(d, other).kprobeEvents, '');
  // The same image at another path (a copy) is the same kernel.
  const copy = join(dir(), 'vmlinux');
  copyFileSync(other, copy);
  updateState(d, other, (s) => ({ state: { ...s, kprobeEvents: 'p:kprobes/x vfs_read\n' }, result: 0 }));
  assert.is(loadState(d, copy).kprobeEvents, 'p:kprobes/x vfs_read\n');
});

test('corrupt or foreign state files are clear errors', () => {
  const d = dir();
  writeFileSync(join(d, STATE_FILE), '{"version":');
  assert.throws(() => readState(d), /not valid JSON/);
  writeFileSync(join(d, STATE_FILE), JSON.stringify({ version: STATE_VERSION + 1 }));
  assert.throws(() => readState(d), /has version/);
});

test('state.json fields of the wrong type: one line naming the field, the file left as it is (issue 14)', () => {
  const d = dir();
  const file = join(d, STATE_FILE);
  updateState(d, FIXTURE, (s) => ({ state: { ...s, kprobeEvents: 'p:probe/x vfs_read\n', enabled: ['probe/x'] }, result: 0 }));
  const good = JSON.parse(readFileSync(file, 'utf8'));
  const cases: [Record<string, unknown>, string][] = [
    [{ kprobeEvents: 5 }, 'field kprobeEvents is number 5, expected a string'],
    [{ clockNs: 'abc' }, 'field clockNs is the string "abc", expected a decimal string of nanoseconds'],
    [{ enabled: 'probe/x' }, 'field enabled is the string "probe/x", expected an array of "GROUP/EVENT" strings'],
    [{ enabled: ['probe/x', 7] }, 'field enabled[1] is number 7, expected a "GROUP/EVENT" string'],
    [{ profile: { 'p:probe/x vfs_read': [1] } }, 'field profile["p:probe/x vfs_read"] is an array, expected a [hits, misses] pair of integers >= 0'],
    [{ errorLog: [{ code: 'X', subsystem: 's', message: 'm', command: 'c', pos: 0, tsNs: 'abc' }] }, 'field errorLog[0].tsNs is the string "abc", expected a decimal string of nanoseconds'],
    [{ cpus: 1e9 }, 'field cpus is number 1000000000, expected an integer from 0 to 8'],
    [{ kprobesEnabled: null }, 'field kprobesEnabled is null, expected true or false'],
    [{ vmlinux: { ...good.vmlinux, sha256: 1 } }, 'field vmlinux.sha256 is number 1, expected a sha256 in hex'],
  ];
  // the identity an image over 64 MiB gets (cache.ts imageKey: its build-id) is a valid vmlinux.sha256
  for (const key of ['bid-54df101f0c9870d34eebf64f99a67e5a86f4f194', 'sha-' + 'a'.repeat(40)]) {
    writeFileSync(file, JSON.stringify({ ...good, vmlinux: { ...good.vmlinux, sha256: key } }));
    assert.is(readState(d)?.vmlinux?.sha256, key);
  }
  for (const [patch, message] of cases) {
    const text = JSON.stringify({ ...good, ...patch });
    writeFileSync(file, text);
    const want = `state ${file}: ${message}; it is left as it is: fix it, or move it away (mv ${file} ${file}.bad) to start with no events`;
    assert.throws(() => updateState(d, FIXTURE, (s) => ({ state: s, result: 0 })), (e: unknown) => e instanceof CliError && (e as Error).message === want, message);
    assert.is(readFileSync(file, 'utf8'), text, 'not overwritten');
  }
  // As a user sees it: one line on stderr, for readers and writers alike.
  writeFileSync(file, JSON.stringify({ ...good, kprobeEvents: 5 }));
  for (const args of [['list'], ['add', 'vfs_read'], ['run']]) {
    const r = spawnSync(process.execPath, [MAIN, '-k', FIXTURE, ...args], { env: { ...process.env, KTRACE_STATE: d }, encoding: 'utf8' });
    assert.is(r.status, 1);
    assert.match(r.stderr, /^ktrace: (run: )?state .*: field kprobeEvents is number 5, expected a string; it is left as it is: .*\.bad\) to start with no events\n$/);
  }
  // Absent fields (older files) take their defaults.
  const { cpus: _c, kprobesOptimization: _o, ...older } = good;
  writeFileSync(file, JSON.stringify(older));
  assert.is(readState(d).cpus, 0);
});

function run(args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [MAIN, '-k', FIXTURE, ...args], { env: { ...process.env, ...env }, stdio: 'ignore' });
    p.on('exit', (code) => res(code ?? -1));
  });
}

const LONG = process.env.KTRACE_LONG === '1';
const ADDS = LONG ? 50 : 12;

test(`${ADDS} concurrent \`ktrace add\` processes leave ${ADDS} events and an intact file`, async () => {
  const d = dir();
  const codes = await Promise.all(Array.from({ length: ADDS }, (_, i) => run(['add', `ev${i}=vfs_read`], { KTRACE_STATE: d })));
  assert.equal(codes, Array(ADDS).fill(0));
  const s = readState(d);
  const lines = s.kprobeEvents.trimEnd().split('\n');
  assert.is(lines.length, ADDS);
  assert.equal(lines.map((l) => /^p:probe\/(ev\d+) vfs_read$/.exec(l)![1]).sort(), Array.from({ length: ADDS }, (_, i) => `ev${i}`).sort());
  assert.equal(readdirSync(d), [STATE_FILE]);
});

test('a writer killed mid-write leaves the old state or the new one, never a torn file', async () => {
  const d = dir();
  writeState(d, { version: STATE_VERSION, ...emptyTraceState(), kprobeEvents: 'old\n' });
  // A child that rewrites a large state in a loop; SIGKILL it at arbitrary moments.
  const script = `
    import { writeState } from ${JSON.stringify(join(HERE, '..', '..', '..', 'src', 'cli', 'state', 'store.js'))};
    import { emptyTraceState } from ${JSON.stringify(join(HERE, '..', '..', '..', 'src', 'trace', 'runtime', 'state.js'))};
    const big = 'x'.repeat(4 << 20);
    process.stdout.write('ready\\n');
    for (let i = 0; ; i++) writeState(process.argv[1], { version: ${STATE_VERSION}, ...emptyTraceState(), kprobeEvents: 'new' + i + '\\n', trace: big });
  `;
  for (let round = 0; round < 5; round++) {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, d], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res) => child.stdout!.once('data', () => res()));
    await new Promise((r) => setTimeout(r, 30 + round * 37));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const s = readState(d); // throws on a torn file
    assert.match(s.kprobeEvents, /^(old|new\d+)\n$/);
  }
});

test('kill -9 at random points during add, run and fs write: the state stays valid and complete, and the next command is not held up', async () => {
  const d = dir();
  const env = { ...process.env, NO_COLOR: '1', KTRACE_STATE: d };
  const r = rng(Number(process.env.KTRACE_FUZZ_SEED || 14));
  const ktraceSync = (args: string[]) => spawnSync(process.execPath, [MAIN, '-k', FIXTURE, ...args], { env, encoding: 'utf8' });
  assert.is(ktraceSync(['add', 'vfs_read']).status, 0);
  const rounds = LONG ? 40 : 6;
  let staleLocks = 0, leftovers = 0;
  for (let i = 0; i < rounds; i++) {
    // ksys_read with an argument is two kprobe_events lines (it is also inlined into __x64_sys_read): all or none.
    const [args, spanMs] = [
      [['add', `k${i}=ksys_read fd=%di`], 1500],
      [['run', '-e', 'probe:*', '--summary'], 5000],
      [['fs', 'write', 'kprobe_events', `p:probe/w${i} vfs_read+5`], 1500],
    ][i % 3] as [string[], number];
    const child = spawn(process.execPath, [MAIN, '-k', FIXTURE, ...args], { env, stdio: 'ignore' });
    // Listen for the exit from the start: a command may finish before the kill comes.
    const exited = new Promise((res) => child.on('exit', res));
    await new Promise((res) => setTimeout(res, Math.floor(r() * spanMs)));
    child.kill('SIGKILL');
    await exited;
    const names = readdirSync(d);
    if (names.includes('lock')) staleLocks++;
    if (names.some((n) => n.endsWith('.tmp'))) leftovers++;
    const s = readState(d); // valid, or this throws
    const lines = s.kprobeEvents.split('\n').filter(Boolean);
    assert.ok([0, 2].includes(lines.filter((l) => l.startsWith(`p:probe/k${i} `)).length), `add killed: all or none of its lines\n${s.kprobeEvents}`);
    assert.ok(lines.includes('p:probe/vfs_read vfs_read'));
    // A killed run folds nothing: every counter is a whole number of complete runs' hits. Hits per complete
    // default run at each probed site (ksys_read's own entry is not reached: it is inlined into __x64_sys_read).
    for (const [k, v] of Object.entries(s.profile)) {
      const site = k.split(' ')[1]!;
      const perRun = ({ vfs_read: 48, 'vfs_read+5': 48, '__x64_sys_read+26': 49, ksys_read: 0 } as Record<string, number>)[site];
      assert.ok(lines.includes(k) && perRun !== undefined && (perRun === 0 ? v[0] === 0 : v[0] % perRun === 0), `profile ${k}: ${v}`);
    }
    // The next command: not held up by the killed one's lock, and it clears what the killed one left.
    const t0 = Date.now();
    const next = ktraceSync(['enable', 'probe:vfs_read']);
    assert.is(next.stderr, '');
    assert.ok(Date.now() - t0 < 15_000, `the next command took ${Date.now() - t0} ms`);
    assert.equal(readdirSync(d), [STATE_FILE]);
  }
  // The state write itself: a writer that updates the state in a loop (holding the lock most of the
  // time), killed at random until three kills have left its lock behind.
  const script = `
    import { updateState } from ${JSON.stringify(join(HERE, '..', '..', '..', 'src', 'cli', 'state', 'store.js'))};
    process.stdout.write('ready\\n');
    for (let i = 0; ; i++) updateState(process.argv[1], ${JSON.stringify(FIXTURE)}, (s) => ({ state: { ...s, trace: s.trace + 'line ' + i + '\\n', traceEntries: s.traceEntries + 1 }, result: 0 }));
  `;
  let writerRounds = 0, writerLocks = 0;
  for (; writerLocks < 3 && writerRounds < 40; writerRounds++) {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, d], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res) => child.stdout!.once('data', () => res()));
    await new Promise((res) => setTimeout(res, 20 + Math.floor(r() * 200)));
    child.kill('SIGKILL');
    await new Promise((res) => child.on('exit', res));
    if (readdirSync(d).includes('lock')) writerLocks++;
    const s = readState(d);
    assert.is(s.trace.split('\n').length - 1, s.traceEntries, 'trace and its count written together');
    const t0 = Date.now();
    const next = ktraceSync(['enable', 'probe:vfs_read']);
    assert.is(next.stderr, '');
    assert.ok(Date.now() - t0 < 15_000, `the next command took ${Date.now() - t0} ms`);
    assert.equal(readdirSync(d), [STATE_FILE]);
  }
  assert.is(writerLocks, 3, `${writerRounds} kills of a writer in its loop left no lock behind`);
  console.log(`NOTE kill -9: ${rounds} rounds (add, run, fs write; ${staleLocks} left a lock, ${leftovers} a temporary file) and ${writerRounds} of a`
    + ` state writer (${writerLocks} left its lock): every state valid and complete, the next command never held up`);
});

test.run();
