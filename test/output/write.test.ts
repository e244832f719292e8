// Writing command output when the reader is gone. A parent killed while `ktrace run` streams (its
// stdout and stderr were sockets or pipes to that parent) must end the run, not leave it behind:
// stdout's EPIPE stops the run quietly, and stderr's EPIPE is dropped instead of being reported on
// the same closed stderr for ever (a run once spun 40 minutes that way, orphaned by a killed test runner).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { freshState, ktrace } from '../cli/run.js';
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

test.run();
