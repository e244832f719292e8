// The workload runner against a fake kernel: the runner's side of clone/exit/wait4 without booting.
// What the real kernel does with the same scripts is covered by test/kernel/session.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseWorkload } from '../../../src/kernel/workload/parser.js';
import { runFake } from './fake-kernel.js';
import { MAX_TASKS } from '../../../src/kernel/contract.js';
import { Image } from '../../../src/elf/image.js';
import { readFileSync } from 'node:fs';
import { DEFAULT_VMLINUX } from '../../../src/paths.js';
import { runScript } from '../../../src/kernel/session.js';

test('tasks that exited give their arenas to new ones: 10,000 spawns in turn use two arenas', () => {
  const { r, stacks } = runFake('repeat 10000 { spawn 1 { getpid } }');
  assert.is(r.stats.get('clone')!.count, 10_000);
  assert.is(r.stats.get('getpid')!.count, 10_000);
  assert.is(r.stats.get('clone')!.results.get(-11), undefined);
  assert.is(stacks.size, 2);
  // pid 1 reaps every child at its end (wait4 until -ECHILD), however many there were.
  assert.is(r.stats.get('wait4')!.count, 10_001);
  assert.is(r.live, 0);
});

test("the kernel's refusal (-EAGAIN) is the script's result, like any system call's; no runner limit first", () => {
  // Children that never exit: the kernel refuses beyond its limit, the runner records -EAGAIN and goes on.
  const { r } = runFake('repeat 100 { spawn 64 { getpid } }\nr = getpid', { limit: MAX_TASKS, park: true });
  const clone = r.stats.get('clone')!;
  assert.is(clone.count, 6400);
  assert.is(clone.results.get(-11), 6400 - (MAX_TASKS - 1));
  assert.is(r.stats.get('getpid')!.count, 1, 'pid 1 goes on after the refusals');
  assert.is(r.live, MAX_TASKS - 1, 'the parked children are live; pid 1 has exited');
});

test('a repeat whose body makes no system call runs its body once', () => {
  const t0 = Date.now();
  const { r } = runFake('b = buf 8\nrepeat 10000000 { repeat 10000000 { expect b == "" } }\nrepeat 3 { getpid }');
  assert.ok(Date.now() - t0 < 2000);
  assert.is(r.stats.get('getpid')!.count, 3);
  assert.is(r.failures.length, 0);
});

test('a buffer variable assigned a system call result is an integer from then on (fuzz seed 11867)', () => {
  const { r } = runFake('b = buf 4\nb = getpid\nexpect b == 1\nexpect b != 2');
  assert.is(r.failures.length, 0, JSON.stringify(r.failures));
});

test('on the fixture kernel: more tasks in turn than MAX_TASKS, each reaped, all start (KTRACE_LONG: 4,200; else 300)', () => {
  const n = process.env.KTRACE_LONG === '1' ? MAX_TASKS + 104 : 300;
  const image = Image.load(readFileSync(DEFAULT_VMLINUX));
  const r = runScript(image, parseWorkload('t.wl', `repeat ${n} { spawn 1 { getpid }\n w = wait4 }`), { cpus: 2, seed: 1, maxInsns: 2_000_000_000 });
  assert.equal(r.end, { kind: 'poweroff', status: 0 });
  assert.is(r.syscalls.clone!.count, n);
  assert.ok(Object.keys(r.syscalls.clone!.results).every((k) => Number(k) > 0), JSON.stringify(r.syscalls.clone));
  assert.is(r.syscalls.getpid!.count, n);
});

test.run();
