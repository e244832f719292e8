// Writing command output when the reader is gone. A parent killed while `ktrace run` streams (its
// stdout and stderr were sockets or pipes to that parent) must end the run, not leave it behind:
// stdout's EPIPE stops the run quietly, and stderr's EPIPE is dropped instead of being reported on
// the same closed stderr for ever (a run once spun 40 minutes that way, orphaned by a killed test runner).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AtomicFile, sysMessage } from '../../src/output/write.js';
import { freshState, ktrace, tempDir } from '../cli/run.js';
import { KTRACE_ARGV } from '../cli/spawn.js';

/** Starts `ktrace ARGS` with both output streams' readers closed at once; resolves with how it exited. */
function orphaned(args: string[], env: Record<string, string>): Promise<{ code: number | null; signal: string | null; ms: number }> {
  const started = Date.now();
  const child = spawn(KTRACE_ARGV[0]!, [...KTRACE_ARGV.slice(1), ...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.destroy();
  child.stderr!.destroy();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`ktrace ${args.join(' ')}: still running ${(Date.now() - started) / 1000} s after its readers went away`)); }, 120_000);
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, ms: Date.now() - started }); });
  });
}

test('run --trace whose stdout and stderr readers are gone ends, with the hits it saw folded into the state', async () => {
  const env = { KTRACE_STATE: freshState() };
  assert.is(ktrace(['add', 'vfs_read count=%dx:u64'], env).code, 0);
  const r = await orphaned(['run', '--no-timing', '--trace'], env);
  assert.is(r.signal, null);
  assert.is(r.code, 0);
  assert.match(ktrace(['fs', 'cat', 'kprobe_profile'], env).stdout, /vfs_read\s+\d+\s+0\n/);
});

test('a failing command whose stderr reader is gone exits with its status, without looping on the error', async () => {
  const env = { KTRACE_STATE: freshState() };
  const r = await orphaned(['disasm', 'no_such_function_anywhere'], env);
  assert.is(r.signal, null);
  assert.is(r.code, 1);
});

test('a static query writing to fd 1 itself: a reader gone ends it quietly (exit 0), and a reader there gets every byte', async () => {
  const env = { KTRACE_STATE: freshState() };
  const gone = await orphaned(['fs', 'cat', '/proc/kallsyms'], env);
  assert.is(gone.signal, null);
  assert.is(gone.code, 0);
  // Through a pipe: every line, as the image's symbol table has them (kallsyms' text is tested against the image elsewhere).
  const r = ktrace(['fs', 'cat', '/proc/kallsyms'], env);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  assert.ok(r.stdout.length > 1000 && r.stdout.endsWith('\n'));
  assert.ok(r.stdout.split('\n').slice(0, -1).every((l) => /^[0-9a-f]{16} [A-Za-z] \S+/.test(l)));
});

const err = (m: string) => new Error(m);

test('AtomicFile: FILE is replaced only on commit; abort and a failed write leave it as it was', () => {
  const d = tempDir('ktrace-atomic-');
  const f = join(d, 'out.ndjson');
  writeFileSync(f, 'old\n');
  const a = new AtomicFile(f, err);
  a.write('one\n');
  a.write(Buffer.from('two\n'));
  assert.is(readFileSync(f, 'utf8'), 'old\n');
  a.commit();
  assert.is(readFileSync(f, 'utf8'), 'one\ntwo\n');
  const b = new AtomicFile(f, err);
  b.write('half');
  b.abort();
  assert.is(readFileSync(f, 'utf8'), 'one\ntwo\n');
  const c = new AtomicFile(f, err);
  c.abort();
  assert.throws(() => c.write('x'), /nothing written/);
  assert.is(readFileSync(f, 'utf8'), 'one\ntwo\n');
  assert.equal(readdirSync(d), ['out.ndjson']);
  assert.throws(() => new AtomicFile(join(d, 'no', 'x'), err), /^No such file or directory$/);
});

test('sysMessage words errors as the C library does', () => {
  assert.is(sysMessage(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })), 'No space left on device');
  assert.is(sysMessage(new Error('other')), 'other');
});

test.run();
