// Finding and reading workload scripts: bundled names, paths, and every kind of file a user may
// point `ktrace run` at (a pipe, a FIFO, /dev/zero, a directory, a huge file), read with a bound.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadWorkload, MAX_WORKLOAD_BYTES, readBounded, resolveWorkload } from '../../src/cli/workload.js';
import { CliError } from '../../src/cli/errors.js';
import { ktrace, tempDir, MAIN, TEST_STATE } from './run.js';

const tmp = tempDir('ktrace-wl-');

function err(f: () => unknown): CliError {
  try { f(); } catch (e) { assert.instance(e, CliError); return e as CliError; }
  throw new Error('expected CliError');
}

test('bundled names and paths resolve; a script parses', () => {
  assert.is(resolveWorkload('default').display, 'default.wl');
  const p = join(tmp, 'ok.wl');
  writeFileSync(p, 'getpid\n');
  assert.is(loadWorkload(p).body.length, 1);
  assert.match(err(() => resolveWorkload(join(tmp, 'nope.wl'))).message, /not found: not a file, and not a bundled workload \(.*default/);
});

test('a device that never ends (/dev/zero) is refused after the bound, not read into memory', () => {
  const t0 = Date.now();
  const e = err(() => loadWorkload('/dev/zero'));
  assert.is(e.message, `/dev/zero: not a workload script: larger than ${MAX_WORKLOAD_BYTES / 1024} KiB`);
  assert.ok(Date.now() - t0 < 5000);
});

test('a regular file over the bound is refused from its size; exactly the bound is read', () => {
  const big = join(tmp, 'big.wl');
  writeFileSync(big, Buffer.alloc(MAX_WORKLOAD_BYTES + 1, 0x20));
  assert.match(err(() => loadWorkload(big)).message, /big\.wl: not a workload script: larger than 1024 KiB$/);
  const edge = join(tmp, 'edge.wl');
  writeFileSync(edge, Buffer.alloc(MAX_WORKLOAD_BYTES, 0x20));
  assert.is(readBounded(edge, MAX_WORKLOAD_BYTES).length, MAX_WORKLOAD_BYTES);
  assert.is(loadWorkload(edge).body.length, 0);
});

test('directories and unreadable paths: one line each', () => {
  const d = join(tmp, 'dir.wl');
  mkdirSync(d);
  assert.is(err(() => loadWorkload(d)).message, `${d}: Is a directory`);
  assert.is(err(() => readBounded(join(tmp, 'missing'), 10)).message, `${join(tmp, 'missing')}: No such file or directory`);
});

test('a FIFO (as `ktrace run <(gen)` gives) is read to its end, with the same bound', async () => {
  if (spawnSync('mkfifo', ['--version']).status !== 0) { console.log('SKIP mkfifo missing: the FIFO workload case'); return; }
  const f = join(tmp, 'fifo.wl');
  assert.is(spawnSync('mkfifo', [f]).status, 0);
  // The writer is another process: this one blocks in open/read until it writes.
  const w = spawn('sh', ['-c', `printf 'getpid\\ngetppid\\n' > ${f}`]);
  const s = loadWorkload(f);
  assert.is(s.body.length, 2);
  await new Promise((r) => w.on('close', r));
  const g = join(tmp, 'fifo2.wl');
  assert.is(spawnSync('mkfifo', [g]).status, 0);
  const w2 = spawn('sh', ['-c', `head -c 3000000 /dev/zero > ${g}`]);
  assert.match(err(() => loadWorkload(g)).message, /fifo2\.wl: not a workload script: larger than/);
  w2.kill();
});

test('ktrace run /dev/zero: one line, exit 1, at once', () => {
  const r = ktrace(['run', '/dev/zero']);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.is(r.stderr, `ktrace: /dev/zero: not a workload script: larger than 1024 KiB\n`);
});

test('ktrace run -: the script on standard input (with a byte order mark), named <stdin> in messages', () => {
  const script = '\ufeffn = write STDOUT "hi\\n"\nexpect n == 3\nfd = openat "/tmp/f" O_CREAT|O_WRONLY|O_TRUNC 0644\nexpect fd >= 0\n';
  const r = spawnSync(process.execPath, [MAIN, 'run', '-', '--summary', '--no-timing'], { input: script, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', KTRACE_STATE: TEST_STATE } });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^workload <stdin> on 2 CPUs/);
  assert.match(r.stdout, /openat +1 +3\n/);
  const bad = spawnSync(process.execPath, [MAIN, 'run', '-'], { input: 'x = nosuch\n', encoding: 'utf8', env: { ...process.env, KTRACE_STATE: TEST_STATE } });
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /^<stdin>:1:5: unknown system call 'nosuch'/);
});

test.run();
