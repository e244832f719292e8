// The kernel's kprobe_events selftests (tools/testing/selftests/ftrace/test.d/kprobe/*.tc, Linux 6.1)
// replayed through `ktrace -k linux fs` and `ktrace -k linux run` on the bundled Linux 6.1, each step
// checking what the script checks. $FUNCTION_FORK is kernel_clone, as test.d/functions picks on 6.1;
// "( echo forked )" is a workload that forks. kernel_clone runs during boot (kthreads, /init), so a run
// with a probe on it boots cold (about 30 s of CPU): the cases that run the kernel are test:long only,
// each on 1 and on 2 CPUs (`run --cpus N`; the tracefs cases do not depend on the CPU count).
// Not replayed: kprobe_args_string.tc (its probe fires inside the kernel's own tracefs_create_dir,
// which ktrace's host-side tracefs never calls), kprobe_ftrace.tc (the function tracer),
// kprobe_module.tc and uprobe_syntax_errors.tc (no modules, no uprobes),
// multiple_kprobes.tc (256 separate writes: minutes of processes), and the
// syntax cases, which test/trace/kprobe-events replays on the shared parser.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshState, tempDir, type Run } from './run.js';
import { spawnSync } from 'node:child_process';
import { MAIN } from './run.js';
import { LINUX_FIXTURE_DIR } from '../../src/kernel/linux/bundle.js';

const built = existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'));
const LONG = process.env.KTRACE_LONG === '1';
const FORK = join(tempDir(), 'fork.wl');
writeFileSync(FORK, '# ( echo "forked" )\nspawn 1 {\n}\n');
const FUNCTION_FORK = 'kernel_clone';

function linux(args: string[], env: Record<string, string>): Run {
  const r = spawnSync(process.execPath, [MAIN, '-k', 'linux', ...args], { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, NO_COLOR: '1', ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const setup = () => ({ KTRACE_STATE: freshState() });
type Env = Record<string, string>;
/** echo TEXT > PATH (truncate) or >> PATH */
const echo = (env: Env, path: string, text: string, truncate = true) => linux(['fs', 'write', ...(truncate ? ['--truncate'] : []), '--', path, text], env);
const cat = (env: Env, path: string) => { const r = linux(['fs', 'cat', path], env); assert.is(r.code, 0, r.stderr); return r.stdout; };
const testD = (env: Env, path: string) => linux(['fs', 'ls', path], env).code === 0;
const forked = (env: Env, cpus: number) => {
  const r = linux(['run', FORK, '--no-timing', '--summary', '--cpus', String(cpus)], env);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^workload .* on ${cpus} CPUs?,`));
};
const skip = () => { if (!built) console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return !built; };

test('add_and_remove.tc', () => {
  if (skip()) return;
  const env = setup();
  assert.is(echo(env, 'kprobe_events', `p:myevent ${FUNCTION_FORK}`).code, 0);
  assert.match(cat(env, 'kprobe_events'), 'myevent');
  assert.ok(testD(env, 'events/kprobes/myevent'));
  assert.is(echo(env, 'kprobe_events', '').code, 0);
  assert.is(cat(env, 'kprobe_events'), '');
});

test('busy_check.tc', () => {
  if (skip()) return;
  const env = setup();
  assert.is(echo(env, 'kprobe_events', `p:myevent ${FUNCTION_FORK}`).code, 0);
  assert.ok(testD(env, 'events/kprobes/myevent'));
  assert.is(echo(env, 'events/kprobes/myevent/enable', '1').code, 0);
  assert.is.not(echo(env, 'kprobe_events', '').code, 0, 'this must fail');
  assert.is(echo(env, 'events/kprobes/myevent/enable', '0').code, 0);
  assert.is(echo(env, 'kprobe_events', '').code, 0, 'this must succeed');
});

test('kprobe_eventname.tc', () => {
  if (skip()) return;
  const env = setup();
  const syms = cat(env, '/proc/kallsyms').split('\n').map((l) => l.split(' '));
  const func = syms.filter((f) => /^[tT]$/.test(f[1] ?? '') && /vfs_read$/.test(f[2] ?? '')).pop()?.[2];
  assert.ok(func, 'unresolved');
  assert.is(echo(env, 'kprobe_events', `p ${func}`).code, 0);
  assert.ok(testD(env, `events/kprobes/p_${func!.replace(/[.:]/g, '_')}_0`));
  assert.is(echo(env, 'kprobe_events', `p:event1 ${func}`).code, 0);
  assert.ok(testD(env, 'events/kprobes/event1'));
  assert.is(echo(env, 'kprobe_events', `p:kprobes2/event2 ${func}`).code, 0);
  assert.ok(testD(env, 'events/kprobes2/event2'));
  // a dot function without a name: find_dot_func's loop, the first .isra. symbol listed once (ktrace
  // has no available_filter_functions: every text symbol of /proc/kallsyms stands for it)
  const count = new Map<string, number>();
  for (const f of syms) if (/^[tT]$/.test(f[1] ?? '')) count.set(f[2], (count.get(f[2]) ?? 0) + 1);
  const dot = syms.find((f) => /^[tT]$/.test(f[1] ?? '') && /\.isra\./.test(f[2] ?? '') && count.get(f[2]) === 1)?.[2];
  assert.ok(dot, 'unresolved');
  assert.is(echo(env, 'kprobe_events', `p ${dot}`).code, 0);
  const event = cat(env, 'kprobe_events').split('\n').find((l) => l.includes(dot!))?.split(' ')[0].split(':')[1];
  assert.ok(event, 'failure');
  assert.ok(testD(env, `events/${event}`));
});

test('kprobe_multiprobe.tc', () => {
  if (skip()) return;
  const env = setup();
  const DEF1 = `p:kprobes/testevent ${FUNCTION_FORK}`, DEF2 = 'p:kprobes/testevent do_exit';
  assert.is(echo(env, 'kprobe_events', DEF1, false).code, 0);
  assert.is(echo(env, 'kprobe_events', DEF2, false).code, 0);
  assert.ok(cat(env, 'kprobe_events').includes(DEF1));
  assert.ok(cat(env, 'kprobe_events').includes(DEF2));
  // remove the event by name (both probes)
  assert.is(echo(env, 'kprobe_events', '-:kprobes/testevent', false).code, 0);
  assert.is(cat(env, 'kprobe_events'), '');
  // remove just one
  echo(env, 'kprobe_events', DEF1, false);
  echo(env, 'kprobe_events', DEF2, false);
  assert.is(echo(env, 'kprobe_events', `-:kprobes/testevent ${FUNCTION_FORK}`, false).code, 0);
  assert.not.ok(cat(env, 'kprobe_events').includes(DEF1));
  assert.ok(cat(env, 'kprobe_events').includes(DEF2));
  // appending a different type must fail
  assert.is.not(echo(env, 'kprobe_events', `${DEF1} $stack`, false).code, 0);
});

test('kretprobe_maxactive.tc', () => {
  if (skip()) return;
  const env = setup();
  for (const bad of ['a:myprobeaccept inet_csk_accept', 'r1000000:myprobeaccept inet_csk_accept', 'r10fuzz:myprobeaccept inet_csk_accept']) {
    assert.is.not(echo(env, 'kprobe_events', bad).code, 0, bad);
  }
  for (const def of ['r:myprobeaccept inet_csk_accept', 'r10:myprobeaccept inet_csk_accept']) {
    assert.is(echo(env, 'kprobe_events', def).code, 0, def);
    assert.match(cat(env, 'kprobe_events'), 'myprobeaccept');
    assert.ok(testD(env, 'events/kprobes/myprobeaccept'));
    assert.is(echo(env, 'kprobe_events', '-:myprobeaccept', false).code, 0);
  }
  for (const def of ['r inet_csk_accept', 'r10 inet_csk_accept']) {
    assert.is(echo(env, 'kprobe_events', def).code, 0, def);
    assert.match(cat(env, 'kprobe_events'), 'inet_csk_accept');
    assert.is(echo(env, 'kprobe_events', '').code, 0);
  }
});

test('probepoint.tc', () => {
  if (skip()) return;
  const env = setup();
  const TARGET_FUNC = 'tracefs_create_dir';
  const lines = cat(env, '/proc/kallsyms').split('\n');
  const i = lines.findIndex((l) => l.split(' ')[2] === TARGET_FUNC);
  assert.ok(i > 0, `${TARGET_FUNC} in /proc/kallsyms`);
  // dec_addr: the low 7 hex digits, as the script's `tail -c 8`
  const dec = (l: string) => parseInt(l.split(' ')[0].slice(-7), 16);
  const [a1, a2, a3] = [dec(lines[i - 1]), dec(lines[i]), dec(lines[i + 1])];
  const TARGET = '0x' + lines[i].split(' ')[0], PREV = a1 - a2, NEXT = `+${a3 - a2}`;
  const OVERFLOW = `+0x${BigInt.asUintN(64, BigInt(PREV)).toString(16)}`;
  assert.is(echo(env, 'kprobe_events', `p:testprobe ${TARGET_FUNC}`).code, 0);
  assert.is(echo(env, 'kprobe_events', `p:testprobe ${TARGET}`).code, 0);
  assert.is(echo(env, 'kprobe_events', `p:testprobe ${TARGET_FUNC}${NEXT}`).code, 0);
  assert.is.not(echo(env, 'kprobe_events', `p:testprobe ${TARGET_FUNC}${PREV}`).code, 0);
  assert.is.not(echo(env, 'kprobe_events', `p:testprobe ${TARGET_FUNC}${OVERFLOW}`).code, 0);
});

test('kprobe_non_uniq_symbol.tc', () => {
  if (skip()) return;
  const env = setup();
  const SYMBOL = 'name_show';
  const n = cat(env, '/proc/kallsyms').split('\n').filter((l) => new RegExp(`^[0-9a-f]+ t ${SYMBOL}$`).test(l)).length;
  if (n <= 1) { console.log(`NOTE kprobe_non_uniq_symbol.tc: ${SYMBOL} is unique in this kernel (the script exits unsupported)`); return; }
  assert.is.not(echo(env, 'kprobe_events', `p:test_non_unique ${SYMBOL}`).code, 0);
  assert.match(cat(env, 'error_log'), 'The symbol is not unique');
});

// ---- cases that run the kernel (test:long: a probe on kernel_clone boots cold)

for (const cpus of [1, 2]) {
  test(`kprobe_args.tc on ${cpus} CPU(s) (test:long)`, () => {
    if (skip() || !LONG) return;
    const env = setup();
    assert.is(echo(env, 'kprobe_events', `p:testprobe ${FUNCTION_FORK} $stack $stack0 +0($stack)`).code, 0);
    assert.match(cat(env, 'kprobe_events'), 'arg1=$stack arg2=$stack0 arg3=+0($stack)');
    assert.ok(testD(env, 'events/kprobes/testprobe'));
    assert.is(echo(env, 'events/kprobes/testprobe/enable', '1').code, 0);
    forked(env, cpus);
    const hits = cat(env, 'trace').split('\n').filter((l) => l.includes('testprobe') && l.includes(FUNCTION_FORK));
    assert.ok(hits.some((l) => /arg1=0x[0-9a-f]* arg2=0x[0-9a-f]* arg3=0x[0-9a-f]*$/.test(l)), hits.slice(0, 3).join('\n'));
    assert.is(echo(env, 'events/kprobes/testprobe/enable', '0').code, 0);
    assert.is(echo(env, 'kprobe_events', '-:testprobe', false).code, 0);
    assert.is(echo(env, 'trace', '').code, 0);
    assert.not.ok(testD(env, 'events/kprobes/testprobe'));
  });

  test(`kprobe_args_comm.tc on ${cpus} CPU(s) (test:long)`, () => {
    if (skip() || !LONG) return;
    const env = setup();
    assert.match(cat(env, 'README').split('fetcharg:')[1] ?? '', '$comm');
    assert.is(echo(env, 'kprobe_events', `p:testprobe ${FUNCTION_FORK} comm=$comm `).code, 0);
    assert.match(cat(env, 'kprobe_events'), 'comm=$comm');
    assert.ok(testD(env, 'events/kprobes/testprobe'));
    assert.is(echo(env, 'events/kprobes/testprobe/enable', '1').code, 0);
    forked(env, cpus);
    assert.ok(cat(env, 'trace').split('\n').some((l) => l.includes('testprobe') && /comm=".*"/.test(l)));
  });

  test(`kretprobe_args.tc on ${cpus} CPU(s) (test:long)`, () => {
    if (skip() || !LONG) return;
    const env = setup();
    assert.is(echo(env, 'kprobe_events', `r:testprobe2 ${FUNCTION_FORK} $retval`).code, 0);
    assert.match(cat(env, 'kprobe_events'), 'arg1=$retval');
    assert.ok(testD(env, 'events/kprobes/testprobe2'));
    assert.is(echo(env, 'events/kprobes/testprobe2/enable', '1').code, 0);
    forked(env, cpus);
    assert.ok(cat(env, 'trace').split('\n').some((l) => l.includes('testprobe2') && l.includes(`<- ${FUNCTION_FORK}`)));
    assert.is(echo(env, 'events/kprobes/testprobe2/enable', '0').code, 0);
    assert.is(echo(env, 'kprobe_events', '-:testprobe2', false).code, 0);
    assert.not.ok(testD(env, 'events/kprobes/testprobe2'));
  });

  test(`profile.tc on ${cpus} CPU(s) (test:long)`, () => {
    if (skip() || !LONG) return;
    const env = setup();
    assert.not.match(cat(env, 'kprobe_profile'), 'myevent');
    assert.is(echo(env, 'kprobe_events', `p:myevent ${FUNCTION_FORK}`).code, 0);
    assert.match(cat(env, 'kprobe_profile'), /myevent\s*0\s*0$/m);
    assert.is(echo(env, 'events/kprobes/myevent/enable', '1').code, 0);
    forked(env, cpus);
    const m = /myevent\s*(\d+)\s*0$/m.exec(cat(env, 'kprobe_profile'));
    assert.ok(m && Number(m[1]) > 0, 'hits counted, none missed');
    assert.is(echo(env, 'events/kprobes/myevent/enable', '0').code, 0);
    assert.is(echo(env, 'kprobe_events', '').code, 0);
    assert.not.match(cat(env, 'kprobe_profile'), 'myevent');
  });
}

test.run();
