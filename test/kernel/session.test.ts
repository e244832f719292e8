// Boots the fixture kernel and runs every bundled workload, on several CPU counts and seeds:
// each must pass its own expectations and power off cleanly, deterministically.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Image } from '../../src/elf/image.js';
import { DEFAULT_VMLINUX, FIXTURES } from '../../src/paths.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { runScript, type RunResult } from '../../src/kernel/session.js';
import { renderRunSummary, runResultJson } from '../../src/output/run-summary.js';
import { RAM_SIZE } from '../../src/kernel/contract.js';

const image = Image.load(readFileSync(DEFAULT_VMLINUX));
const dir = join(FIXTURES, 'workloads');
const LONG = process.env.KTRACE_LONG === '1';

function run(name: string, source: string, cpus: number, seed: number, extra: { maxInsns?: number } = {}): RunResult {
  return runScript(image, parseWorkload(name, source), { cpus, seed, maxInsns: extra.maxInsns ?? 500_000_000 });
}
function explain(r: RunResult): string {
  return renderRunSummary(r, { timing: false });
}

const workloads = readdirSync(dir).filter((f) => f.endsWith('.wl')).sort();
const configs: [number, number][] = LONG ? [[1, 1], [1, 2], [2, 1], [2, 2], [2, 3], [4, 1], [4, 2], [4, 5]] : [[1, 1], [2, 1], [4, 2]];

test('the bundled workloads exist', () => {
  for (const w of ['default', 'cat', 'pipe-pingpong', 'fork-storm', 'net-loopback', 'compute']) {
    assert.ok(workloads.includes(w + '.wl'), `${w}.wl is missing`);
  }
});

for (const w of workloads) {
  test(`${w} passes its expectations on 1, 2 and 4 CPUs`, () => {
    const src = readFileSync(join(dir, w), 'utf8');
    for (const [cpus, seed] of configs) {
      const r = run(w, src, cpus, seed);
      assert.equal(r.end, { kind: 'poweroff', status: 0 }, `${w} cpus=${cpus} seed=${seed}\n${explain(r)}`);
      assert.equal(r.failures, [], `${w} cpus=${cpus} seed=${seed}\n${explain(r)}`);
      assert.is(r.exitCode, 0);
    }
  });
}

test('same kernel, workload, CPUs and seed give byte-identical results; another seed may differ', () => {
  const src = readFileSync(join(dir, 'pipe-pingpong.wl'), 'utf8');
  const strip = (r: RunResult) => runResultJson({ ...r, hostSeconds: 0, mips: 0 });
  const a = run('pp', src, 2, 7), b = run('pp', src, 2, 7);
  assert.is(strip(a), strip(b));
  assert.is(renderRunSummary(a, { timing: false }), renderRunSummary(b, { timing: false }));
});

test('results do not depend on how the host slices the run', () => {
  const src = readFileSync(join(dir, 'default.wl'), 'utf8');
  const strip = (r: RunResult) => runResultJson({ ...r, hostSeconds: 0, mips: 0 });
  for (const cpus of [1, 2, 4]) {
    const script = parseWorkload('default.wl', src);
    const base = runScript(image, script, { cpus, seed: 3, maxInsns: 500_000_000 });
    for (const slice of [7_777, 100_003]) {
      const r = runScript(image, script, { cpus, seed: 3, maxInsns: 500_000_000, slice });
      assert.is(strip(r), strip(base), `cpus=${cpus} slice=${slice}`);
    }
  }
});

test('readers sleep in pipe_read and are woken: context switches grow with the ping-pong', () => {
  // /proc/stat's ctxt line counts context switches; read it before and after 20 round trips.
  const src = `
s = buf 512
fd = openat "/proc/stat"
n = read fd s
write STDOUT s n
close fd
p = buf 8
q = buf 8
pipe2 p
pipe2 q
spawn 1 {
  b = buf 8
  repeat 20 { read p[0] b; write q[1] "x" }
}
b = buf 8
repeat 20 { write p[1] "x"; read q[0] b }
wait4
fd = openat "/proc/stat"
n = read fd s
write STDOUT s n
`;
  for (const cpus of [1, 2]) {
    const r = run('sleep.wl', src, cpus, 1);
    assert.equal(r.failures, []);
    const ctxt = [...r.console.matchAll(/^ctxt (\d+)$/gm)].map((m) => Number(m[1]));
    assert.is(ctxt.length, 2, r.console);
    // each round trip blocks both tasks once: at least 2 switches per round trip
    assert.ok(ctxt[1] - ctxt[0] >= 40, `only ${ctxt[1] - ctxt[0]} context switches on ${cpus} CPUs`);
  }
});

test('copy_to_user faults on a bad user pointer and -EFAULT comes back through the exception table', () => {
  const r = run('efault.wl', 'fd = openat "/etc/motd"\nn = read fd 0x1000 16\nexpect n == -EFAULT\nn = write STDOUT 0x2000 4\nexpect n == -EFAULT\nfd2 = openat AT_FDCWD 0x3000\nexpect fd2 == -EFAULT\n', 1, 1);
  assert.equal(r.failures, [], explain(r));
  assert.equal(r.end, { kind: 'poweroff', status: 0 });
  assert.equal(r.syscalls.read.results, { '-14': 1 });
});

test('an oops or panic stops the run with the message, the faulting instruction, registers and a backtrace', () => {
  const cases: [number, RegExp, RegExp][] = [
    [0, /BUG: kernel NULL pointer dereference/, /^lkdtm_EXCEPTION\+/],
    [1, /kernel BUG at/, /^lkdtm_BUG\+/],
    [3, /BUG: unable to handle page fault for address: ffffc90000000000/, /^lkdtm_READ_UNMAPPED\+/],
    [4, /divide error/, /^lkdtm_DIVIDE\+/],
  ];
  for (const [type, message, at] of cases) {
    const r = run('crash.wl', `n = getpid\nexpect n == 1\nktrace_crash ${type}\ngetpid\n`, 2, 1);
    assert.equal(r.end, { kind: 'panic', reason: 2 }, `type ${type}\n${explain(r)}`);
    assert.is(r.exitCode, 1);
    assert.match(r.console, message);
    assert.match(r.console, /Kernel panic - not syncing: Fatal exception/);
    assert.ok(r.oops, 'an oops report');
    assert.match(r.oops!.backtrace[0].text, at);
    assert.ok(r.oops!.backtrace.some((f) => f.text.startsWith('do_syscall_64+')), 'the backtrace reaches do_syscall_64');
    assert.ok(r.faultInsn && /^ffffffff[0-9a-f]{8}:\t/.test(r.faultInsn), `faulting instruction: ${r.faultInsn}`);
    assert.equal(r.syscalls.getpid, { count: 1, results: { '1': 1 } }, 'results before the crash are kept');
    const text = explain(r);
    assert.match(text, /^oops/m);
    assert.match(text, /RAX: [0-9a-f]{16}/);
    assert.match(text, /ended: kernel panic/);
  }
  const p = run('panic.wl', 'ktrace_crash 2\n', 1, 1);
  assert.equal(p.end, { kind: 'panic', reason: 1 });
  assert.match(p.console, /Kernel panic - not syncing: dumptest/);
});

test('a failed expectation is reported with file:line and makes the exit code 1', () => {
  const r = run('bad.wl', 'n = getpid\nexpect n == 2\n', 1, 1);
  assert.is(r.failures.length, 1);
  assert.is(r.failures[0].line, 2);
  assert.match(r.failures[0].message, /left side is 1/);
  assert.is(r.exitCode, 1);
  assert.equal(r.end, { kind: 'poweroff', status: 0 });
});

test('a deadlocked workload ends as stalled, not after the whole budget', () => {
  const r = run('hang.wl', 'p = buf 8\npipe2 p\nb = buf 8\nread p[0] b\n', 1, 1);
  assert.is(r.end.kind, 'stalled');
  assert.is(r.exitCode, 1);
});

test('the instruction budget ends a run cleanly, with results so far', () => {
  const r = run('loop.wl', 'repeat 100000 { getpid }\n', 1, 1, { maxInsns: 2_000_000 });
  assert.equal(r.end, { kind: 'budget' });
  assert.ok(r.syscalls.getpid.count > 10);
  assert.ok(r.instructions >= 2_000_000);
});

test("clone beyond max_threads fails with -EAGAIN, as Linux's copy_process does; reaping frees the slots", () => {
  // kernel/fork.c set_max_threads(): stacks may take 1/8 of RAM, so max_threads = RAM / (8 * THREAD_SIZE);
  // init is one of them, and a zombie counts until it is reaped (__unhash_process).
  const maxThreads = RAM_SIZE / (8 * 16384);
  const src = [
    `repeat ${maxThreads + 40} { spawn 1 { nanosleep 1000000 } }`,
    `repeat ${maxThreads - 1} {`, '  w = wait4', '  expect w > 1', '}',
    'w = wait4', 'expect w == -ECHILD',
    'spawn 1 { getpid }', 'w = wait4', 'expect w > 1', '',
  ].join('\n');
  const r = run('eagain.wl', src, 2, 1);
  assert.equal(r.end, { kind: 'poweroff', status: 0 }, explain(r));
  assert.equal(r.failures, [], explain(r));
  const clone = r.syscalls.clone!;
  assert.is(clone.count, maxThreads + 41);
  assert.is(clone.results['-11'], 41, JSON.stringify(clone.results));
  assert.is(clone.results['-12'], undefined, 'no -ENOMEM');
});

test.run();
