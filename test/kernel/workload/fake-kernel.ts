// A scheduler-free fake kernel for the workload runner's tests and fuzzing: no boot, just the
// runner's side of clone, exit and wait4.
import * as assert from 'uvu/assert';
import { parseWorkload } from '../../../src/kernel/workload/parser.js';
import { WorkloadRunner, type SyscallRequest, type UserMemory } from '../../../src/kernel/workload/runner.js';
import { MAX_TASKS } from '../../../src/kernel/contract.js';
import type { Script } from '../../../src/kernel/workload/ast.js';

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
export function runFake(src: string | Script, opts: { limit?: number; park?: boolean; maxSteps?: number } = {}) {
  const mem = new FakeMemory();
  const r = new WorkloadRunner(typeof src === 'string' ? parseWorkload('t.wl', src) : src, mem);
  const { stackTop } = r.setup();
  type T = { sp: number; rax: number; pid: number };
  const stack: T[] = [{ sp: stackTop, rax: 0, pid: 1 }];
  const parked: T[] = [];
  let live = 1, zombies = 0, nextPid = 2;
  const limit = opts.limit ?? MAX_TASKS;
  const stacks = new Set<number>([stackTop]);
  for (let steps = 0; stack.length; steps++) {
    if (steps > (opts.maxSteps ?? 1e6)) break;
    const t = stack[stack.length - 1]!;
    const req = r.hostCall(t.sp, t.rax) as SyscallRequest;
    assert.ok(!('error' in req), JSON.stringify(req));
    if (req.name === 'exit' || req.name === 'exit_group') { stack.pop(); live--; zombies++; continue; }
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

