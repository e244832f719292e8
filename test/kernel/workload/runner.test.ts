// The workload runner against a fake kernel: the runner's side of clone/exit/wait4 without booting.
// What the real kernel does with the same scripts is covered by test/kernel/session.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseWorkload } from '../../../src/kernel/workload/parser.js';
import { WorkloadRunner, type SyscallRequest, type UserMemory } from '../../../src/kernel/workload/runner.js';
import { MAX_TASKS } from '../../../src/kernel/contract.js';
import { Image } from '../../../src/elf/image.js';
import { readFileSync } from 'node:fs';
import { DEFAULT_VMLINUX } from '../../../src/paths.js';
import { runScript } from '../../../src/kernel/session.js';

class FakeMemory implements UserMemory {
  mapped = new Set<number>();
  mapUser(addr: number, size: number): void { for (let a = Math.floor(addr / 0x1000) * 0x1000; a < addr + size; a += 0x1000) this.mapped.add(a); }
  write(): void {}
  read(_addr: number, len: number): Uint8Array { return new Uint8Array(len); }
}

/**
 * A scheduler-free kernel: runs the task on top of the stack to its next call; clone pushes the
 * child (it runs first, to its exit, unless `park` holds children that never exit); exit pops;
 * wait4 reaps zombies; clone fails with -EAGAIN beyond `limit` live tasks, as fork.c does.
 */
function runFake(src: string, opts: { limit?: number; park?: boolean } = {}) {
  const mem = new FakeMemory();
  const r = new WorkloadRunner(parseWorkload('t.wl', src), mem);
  const { stackTop } = r.setup();
  type T = { sp: number; rax: number; pid: number };
  const stack: T[] = [{ sp: stackTop, rax: 0, pid: 1 }];
  const parked: T[] = [];
  let live = 1, zombies = 0, nextPid = 2;
  const limit = opts.limit ?? MAX_TASKS;
  const stacks = new Set<number>([stackTop]);
  for (let steps = 0; stack.length; steps++) {
    if (steps > 1e6) throw new Error('runaway');
    const t = stack[stack.length - 1]!;
    const req = r.hostCall(t.sp, t.rax) as SyscallRequest;
    assert.ok(!('error' in req), JSON.stringify(req));
    if (req.name === 'exit') { stack.pop(); live--; zombies++; continue; }
    if (req.name === 'clone') {
      if (live >= limit) { t.rax = -11; continue; }
      t.rax = nextPid; live++;
      const child = { sp: req.args[1]!, rax: 0, pid: nextPid++ };
      stacks.add(child.sp);
      if (opts.park) { parked.push(child); r.hostCall(child.sp, 0); } else stack.push(child);
      continue;
    }
    if (req.name === 'wait4') { t.rax = zombies ? (zombies--, 2) : -10; continue; }
    t.rax = req.name === 'getpid' ? t.pid : 0;
  }
  return { r, stacks, parked };
}

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
