import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, readFileSync, readdirSync, copyFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { spawn } from 'node:child_process';
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

function run(args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [MAIN, '-k', FIXTURE, ...args], { env: { ...process.env, ...env }, stdio: 'ignore' });
    p.on('exit', (code) => res(code ?? -1));
  });
}

test('fifty concurrent `ktrace add` processes leave fifty events and an intact file', async () => {
  const d = dir();
  const codes = await Promise.all(Array.from({ length: 50 }, (_, i) => run(['add', `ev${i}=vfs_read`], { KTRACE_STATE: d })));
  assert.equal(codes, Array(50).fill(0));
  const s = readState(d);
  const lines = s.kprobeEvents.trimEnd().split('\n');
  assert.is(lines.length, 50);
  assert.equal(lines.map((l) => /^p:probe\/(ev\d+) vfs_read$/.exec(l)![1]).sort(), Array.from({ length: 50 }, (_, i) => `ev${i}`).sort());
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

test.run();
