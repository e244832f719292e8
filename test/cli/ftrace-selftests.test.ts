// The kernel's ftrace trigger selftests (tools/testing/selftests/ftrace/test.d/trigger/
// trigger-{filter,hist,stacktrace,traceonoff}.tc, Linux 6.1) replayed through `ktrace fs` and
// `ktrace run`, where they apply to kprobe events: their sched:sched_process_fork event becomes a
// return probe on the clone system call with the same fields (child_pid, parent_comm; the parent's
// pid is common_pid), "( echo forked )" a workload that forks, and reset_trigger the selftests'
// own function (each trigger line written back with '!'). Each step checks what the script checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ktrace, freshState, tempDir } from './run.js';

const FORK = join(tempDir(), 'fork.wl');
writeFileSync(FORK, '# ( echo "forked" ): three children\nspawn 3 {\n}\n');
const EVENT = 'events/kprobes/sched_process_fork';

function setup(): Record<string, string> {
  const env = { KTRACE_STATE: freshState() };
  const r = ktrace(['fs', 'write', 'kprobe_events', 'r:kprobes/sched_process_fork __x64_sys_clone child_pid=$retval:s32 parent_comm=$comm'], env);
  assert.is(r.code, 0, r.stderr);
  return env;
}
const w = (env: Record<string, string>, path: string, text: string, truncate = true) =>
  ktrace(['fs', 'write', ...(truncate ? ['--truncate'] : []), path, text], env);
const cat = (env: Record<string, string>, path: string) => ktrace(['fs', 'cat', path], env).stdout;
const forked = (env: Record<string, string>) => { const r = ktrace(['run', FORK, '--no-timing', '--summary'], env); assert.is(r.code, 0, r.stderr); };
/** test.d/functions reset_trigger_file: every trigger line, up to " [", written back with '!'. */
function resetTrigger(env: Record<string, string>): void {
  for (const line of cat(env, `${EVENT}/trigger`).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    assert.is(w(env, `${EVENT}/trigger`, `!${line.split('[')[0]}`, false).code, 0, line);
  }
  assert.match(cat(env, `${EVENT}/trigger`), /^# Available triggers:/);
}

test('trigger-traceonoff.tc', () => {
  const env = setup();
  w(env, 'tracing_on', '1');
  assert.is(w(env, `${EVENT}/trigger`, 'traceoff').code, 0);
  forked(env);
  assert.is(cat(env, 'tracing_on'), '0\n', 'traceoff trigger did not work');
  resetTrigger(env);
  w(env, 'tracing_on', '0');
  assert.is(w(env, `${EVENT}/trigger`, 'traceon').code, 0);
  forked(env);
  assert.is(cat(env, 'tracing_on'), '1\n', 'traceon trigger did not work');
  resetTrigger(env);
  // semantic errors
  assert.is(w(env, `${EVENT}/trigger`, 'traceoff:badparam').code, 1);
  assert.is(w(env, `${EVENT}/trigger`, 'traceoff+0').code, 1);
  assert.is(w(env, `${EVENT}/trigger`, 'traceon').code, 0);
  assert.is(w(env, `${EVENT}/trigger`, 'traceon').code, 1);
  assert.is(w(env, `${EVENT}/trigger`, 'traceoff').code, 1);
});

test('trigger-filter.tc', () => {
  const env = setup();
  w(env, 'tracing_on', '1');
  assert.is(w(env, `${EVENT}/trigger`, 'traceoff if child_pid == 0').code, 0);
  forked(env);
  assert.is(cat(env, 'tracing_on'), '1\n', 'traceoff trigger on sched_process_fork did not work');
  resetTrigger(env);
  for (const bad of ['traceoff if a', 'traceoff if common_pid=0', 'traceoff if common_pid==b']) assert.is(w(env, `${EVENT}/trigger`, bad).code, 1, bad);
  assert.is(w(env, `${EVENT}/trigger`, 'traceoff if common_pid == 0').code, 0);
  assert.is(w(env, `${EVENT}/trigger`, '!traceoff').code, 0);
  assert.is(w(env, `${EVENT}/trigger`, 'traceoff if common_pid == child_pid').code, 1);
  for (const good of ['traceoff if common_pid <= 0', 'traceoff if common_pid >= 0', 'traceoff if common_pid >= 0 && child_pid >= 0', 'traceoff if common_pid >= 0 || child_pid >= 0']) {
    assert.is(w(env, `${EVENT}/trigger`, good).code, 0, good);
    assert.is(w(env, `${EVENT}/trigger`, '!traceoff').code, 0);
  }
});

test('trigger-hist.tc', () => {
  const env = setup();
  assert.is(w(env, `${EVENT}/trigger`, 'hist:keys=common_pid:vals=child_pid').code, 0);
  forked(env);
  const h1 = cat(env, `${EVENT}/hist`);
  assert.match(h1, /common_pid/, 'hist trigger on sched_process_fork did not work');
  assert.match(h1, /child/);
  resetTrigger(env);
  assert.is(w(env, `${EVENT}/trigger`, 'hist:keys=common_pid,child_pid').code, 0);
  forked(env);
  assert.match(cat(env, `${EVENT}/hist`), /^\{ common_pid:.*, child_pid:.*\}/m, 'compound keys did not work');
  resetTrigger(env);
  assert.is(w(env, `${EVENT}/trigger`, 'hist:keys=parent_comm').code, 0);
  forked(env);
  assert.match(cat(env, `${EVENT}/hist`), /parent_comm: init/, 'string key did not work');
  resetTrigger(env);
  // sym and sym-offset: the kprobe's own address field (the selftest uses kmalloc's call_site)
  assert.is(w(env, `${EVENT}/trigger`, 'hist:keys=__probe_ret_ip.sym').code, 0);
  forked(env);
  assert.match(cat(env, `${EVENT}/hist`), /\{ __probe_ret_ip: \[[0-9a-f]+\] [_a-zA-Z][_a-zA-Z0-9]* *\}/, 'sym modifier did not work');
  resetTrigger(env);
  assert.is(w(env, `${EVENT}/trigger`, 'hist:keys=__probe_ret_ip.sym-offset').code, 0);
  forked(env);
  assert.match(cat(env, `${EVENT}/hist`), /\{ __probe_ret_ip: \[[0-9a-f]+\] [_a-zA-Z][_a-zA-Z0-9]*\+0x[0-9a-f]+/, 'sym-offset modifier did not work');
  resetTrigger(env);
  assert.is(w(env, `${EVENT}/trigger`, 'hist:keys=common_pid,child_pid:sort=child_pid.ascending').code, 0);
  forked(env);
  const pids = [...cat(env, `${EVENT}/hist`).matchAll(/child_pid:\s*(\d+)/g)].map((m) => Number(m[1]));
  assert.ok(pids.length >= 3, 'no child pids');
  assert.equal(pids, [...pids].sort((a, b) => a - b), 'sort param did not work');
});

test('trigger-stacktrace.tc', () => {
  const env = setup();
  assert.match(cat(env, `${EVENT}/trigger`), /stacktrace/, 'stacktrace trigger is not supported');
  w(env, 'trace', '0');
  assert.is(w(env, `${EVENT}/trigger`, 'stacktrace').code, 0);
  forked(env);
  const trace = cat(env, 'trace');
  assert.match(trace, /<stack trace>/, 'stacktrace trigger did not work');
  // the callers of the clone system call, through the kretprobe's trampoline
  assert.match(trace, /<stack trace>\n => do_syscall_64\n => entry_SYSCALL_64/);
  resetTrigger(env);
  assert.is(w(env, `${EVENT}/trigger`, 'stacktrace:foo').code, 1);
  assert.is(w(env, `${EVENT}/trigger`, 'stacktrace').code, 0);
  assert.is(w(env, `${EVENT}/trigger`, 'stacktrace').code, 1);
});

test.run();
