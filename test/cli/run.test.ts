// ktrace run with probe events, end to end (separate processes, the committed fixture kernel).
// Golden outputs: KTRACE_UPDATE_GOLDEN=1 rewrites test/cli/golden/* from the current output.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ktrace, freshState, tempDir } from './run.js';
import { fixtureImage } from '../elf/fixture.js';

// dist*/test/cli → the source tree's test/cli/golden.
const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'cli', 'golden');

function golden(name: string, actual: string): void {
  const path = join(GOLDEN, name);
  if (process.env.KTRACE_UPDATE_GOLDEN === '1') { writeFileSync(path, actual); return; }
  assert.ok(existsSync(path), `golden ${name} is missing: run with KTRACE_UPDATE_GOLDEN=1 and review it`);
  // A rebuilt fixture kernel changes addresses and counts: review, then KTRACE_UPDATE_GOLDEN=1.
  assert.fixture(actual, readFileSync(path, 'utf8'), `${name} (KTRACE_UPDATE_GOLDEN=1 rewrites it)`);
}

function workload(text: string): string {
  const p = join(tempDir('ktrace-wl-'), 'w.wl');
  writeFileSync(p, text);
  return p;
}

test("the kernel's trace_kprobe self-test through the whole stack", () => {
  const env = { KTRACE_STATE: freshState() };
  const add = ktrace(['add', 'p:testprobe kprobe_trace_selftest_target $stack $stack0 +0($stack)'], env);
  assert.is(add.code, 0, add.stderr);
  const wl = workload('v = ktrace_selftest6 1 2 3 4 5 6\nexpect v == 21\n');
  const r = ktrace(['run', wl], env);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  assert.is(lines.length, 1, r.stdout);
  // an ftrace-based probe in a system call: interrupts on, the ftrace path's preemption level (flags.ts)
  const m = /^ +init-1 +\[00\d\] \.\.\.1\. +\d+\.\d{6}: testprobe: \(kprobe_trace_selftest_target\+0x0\/0x[0-9a-f]+\) arg1=0x([0-9a-f]+) arg2=0x([0-9a-f]+) arg3=0x([0-9a-f]+)$/.exec(lines[0]!);
  assert.ok(m, lines[0]);
  // $stack0 is the return address into the caller, and +0($stack) reads the same word.
  assert.is(m![2], m![3]);
  const ret = fixtureImage().lookupAddr(Number(BigInt.asIntN(64, BigInt('0x' + m![2]))));
  assert.ok(ret && /selftest6/.test(ret.entry.name), `return address in ${ret?.entry.name}`);
  // $stack is the kernel stack pointer: a direct-map address.
  assert.match(m![1]!, /^ffff888/);
  assert.is(ktrace(['fs', 'cat', 'kprobe_profile'], env).stdout, `  ${'testprobe'.padEnd(44)} ${'1'.padStart(15)} ${'0'.padStart(15)}\n`);
  const trace = ktrace(['fs', 'cat', 'trace'], env).stdout;
  assert.match(trace, /^# tracer: nop\n#\n# entries-in-buffer\/entries-written: 1\/1   #P:2\n/);
  assert.ok(trace.endsWith(lines[0] + '\n'));
  // The arguments by position: $argN sees 1..6 at the entry (testprobe disabled: a run traces the enabled events).
  assert.is(ktrace(['disable', 'testprobe'], env).code, 0);
  const args = ktrace(['run', wl, '-a', 'kprobe_trace_selftest_target $arg1 $arg2 $arg3 $arg4 $arg5 $arg6'], env);
  assert.match(args.stdout, /kprobe_trace_selftest_target: \(kprobe_trace_selftest_target\+0x0\/0x[0-9a-f]+\) arg1=0x1 arg2=0x2 arg3=0x3 arg4=0x4 arg5=0x5 arg6=0x6\n$/);
});

test("the self-test's return probe: r:testprobe2 sees 21, one hit each, and $argN from the entry", () => {
  const env = { KTRACE_STATE: freshState() };
  assert.is(ktrace(['add', 'p:testprobe kprobe_trace_selftest_target $stack $stack0 +0($stack)'], env).code, 0);
  assert.is(ktrace(['add', 'r:testprobe2 kprobe_trace_selftest_target $retval a1=$arg1 a6=$arg6'], env).code, 0);
  const wl = workload('v = ktrace_selftest6 1 2 3 4 5 6\nexpect v == 21\n');
  const r = ktrace(['run', wl], env);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.is(lines.length, 2, r.stdout);
  assert.match(lines[1]!, /testprobe2: \(__x64_sys_ktrace_selftest6\+0x[0-9a-f]+\/0x[0-9a-f]+ <- kprobe_trace_selftest_target\) arg1=0x15 a1=0x1 a6=0x6$/);
  const profile = ktrace(['fs', 'cat', 'kprobe_profile'], env).stdout;
  assert.is(profile, `  ${'testprobe'.padEnd(44)} ${'1'.padStart(15)} ${'0'.padStart(15)}\n  ${'testprobe2'.padEnd(44)} ${'1'.padStart(15)} ${'0'.padStart(15)}\n`);
  // The kretprobe's entry probe is listed with type r.
  assert.match(ktrace(['fs', 'cat', '/sys/kernel/debug/kprobes/list'], env).stdout, /  r  kprobe_trace_selftest_target\+0x0 /);
  // The summary's return-value table.
  const s = ktrace(['run', wl, '--summary', '-e', 'testprobe2'], env);
  assert.match(s.stdout, /\nkprobes:testprobe2 returned:\n  VALUE  COUNT\n  21         1\n$/);
});

// perf appends __return to a given event name too (openat= → probe:openat__return).
const RUN = ['run', '--no-timing', '-a', 'vfs_read count=%dx:u64', '-a', 'pipe_read', '-a', 'comm=kprobe_target $comm', '-a', 'openat=do_sys_openat2%return $retval:s32'];

test('golden: summary with the hit table and a histogram', () => {
  const r = ktrace([...RUN, '--summary', '--hist', 'count'], { KTRACE_STATE: freshState() });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /\nEVENT +HITS +MISSES\nprobe:vfs_read +48 +0\n/);
  // Return values by count, errors by name: the same as the openat system call results.
  assert.match(r.stdout, /\nprobe:openat__return returned:\n  VALUE +COUNT\n  3 +6\n  -ENOENT +1\n/);
  golden('run-summary.txt', r.stdout);
});

test('golden: trace text when piped, identical to the trace file after the run', () => {
  const env = { KTRACE_STATE: freshState() };
  assert.is(ktrace(['add', 'vfs_read count=%dx:u64'], env).code, 0);
  const r = ktrace(['run', '--no-timing'], env);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.split('\n').filter((l) => / vfs_read: /.test(l)).length, 48);
  golden('run-trace.txt', r.stdout);
  const file = ktrace(['fs', 'cat', 'trace'], env).stdout;
  assert.ok(file.endsWith(r.stdout));
  assert.match(ktrace(['fs', 'cat', 'kprobe_profile'], env).stdout, /^ {2}vfs_read {36} +48 +0\n$/);
  // A second run appends: counters and the buffer are "since the events were defined".
  ktrace(['run', '--no-timing'], env);
  assert.match(ktrace(['fs', 'cat', 'kprobe_profile'], env).stdout, /^ {2}vfs_read {36} +96 +0\n$/);
  assert.match(ktrace(['fs', 'cat', 'trace'], env).stdout, /entries-in-buffer\/entries-written: 96\/96 /);
});

test('golden: NDJSON events and the summary object', () => {
  const r = ktrace([...RUN, '--json'], { KTRACE_STATE: freshState() });
  assert.is(r.code, 0, r.stderr);
  const objs = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
  const last = objs[objs.length - 1];
  assert.is(last.type, 'summary');
  assert.equal(last.probes.map((p: { event: string }) => p.event), ['probe:vfs_read', 'probe:pipe_read', 'probe:comm', 'probe:openat__return']);
  assert.equal(last.retvals['probe:openat__return'], last.syscalls.openat.results);
  assert.ok(objs.slice(0, -1).every((o) => o.type === 'event'));
  const ev = objs.find((o) => o.event === 'probe:vfs_read');
  assert.type(ev.args.count, 'number');
  // --no-timing leaves out the host timings, the only varying fields: the output is the golden file byte for byte.
  assert.not.ok('hostSeconds' in last || 'mips' in last);
  golden('run-json.ndjson', r.stdout);
  assert.ok('hostSeconds' in JSON.parse(ktrace(['run', 'cat', '--json'], { KTRACE_STATE: freshState() }).stdout.trimEnd().split('\n').pop()!), 'with timing, the host time is there');
});

test('--trace streams lines to stdout and the summary to stderr; -e selects', () => {
  const env = { KTRACE_STATE: freshState() };
  ktrace(['add', 'vfs_read'], env);
  ktrace(['add', 'pipe_read'], env);
  // -e adds to the enabled events: with both disabled, it selects.
  assert.is(ktrace(['disable', 'probe:*'], env).code, 0);
  const r = ktrace(['run', '--no-timing', '--trace', '-e', 'probe:pipe_*'], env);
  assert.is(r.code, 0, r.stderr);
  assert.ok(r.stdout.split('\n').filter(Boolean).every((l) => / pipe_read: /.test(l)));
  assert.match(r.stderr, /probe:pipe_read +40 +0\n/);
  assert.not.match(r.stderr, /probe:vfs_read/);
  assert.is(ktrace(['run', '-e', 'nope'], env).stderr, 'ktrace: run: -e nope: no event matches (see `ktrace list`)\n');
});

test('a failed run says why in one line on stderr in every mode: panic (its own message), failed expect, stall', () => {
  const env = { KTRACE_STATE: freshState() };
  const cases: [string, string][] = [
    ['ktrace_crash 0\n', 'kernel panic: Fatal exception'],
    ['ktrace_crash 2\n', 'kernel panic: dumptest'],
    ['v = getpid\nexpect v == 99\n', '1 expectation failed (first: WL:2:1: task 0: expect v == 99: left side is 1)'],
  ];
  for (const [text, why] of cases) {
    const wl = workload(text);
    for (const mode of [[], ['--json'], ['--summary'], ['-a', 'vfs_read']]) {
      const r = ktrace(['run', wl, ...mode], env);
      assert.is(r.code, 1, `${text} ${mode}`);
      assert.is(r.stderr, `ktrace: run: ${why.replace('WL', wl)}\n`, `${text} ${mode}`);
    }
  }
  // The summary names the panic by its message too.
  assert.match(ktrace(['run', workload('ktrace_crash 2\n'), '--summary'], env).stdout, /\nended: kernel panic: dumptest\n/);
  const stall = ktrace(['run', workload('p = buf 8\npipe2 p\nb = buf 1\nread p[0] b\n')], env);
  assert.is(stall.code, 1);
  assert.is(stall.stderr, 'ktrace: run: stalled: no task made a system call for 10 s of emulated time (are all tasks blocked?)\n');
  // A clean run says nothing there.
  assert.is(ktrace(['run', 'cat'], env).stderr, '');
});

test('--timer-period: below the minimum a usage error that says why; at the minimum the run completes', () => {
  const env = { KTRACE_STATE: freshState() };
  for (const p of ['1', '999']) {
    const r = ktrace(['run', '--timer-period', p], env);
    assert.is(r.code, 2);
    assert.match(r.stderr, /^ktrace: run: --timer-period must be 0 \(no timer\) or at least 1000: .*interrupt storm\)\n$/);
  }
  const r = ktrace(['run', 'cat', '--timer-period', '1000', '--summary'], env);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /ended: power off, status 0/);
});

test.run();
