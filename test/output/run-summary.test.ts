import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { endText, failureLine, panicMessage } from '../../src/output/run-summary.js';
import type { RunResult } from '../../src/kernel/session.js';

const result = (over: Partial<RunResult>): RunResult => ({
  workload: 'w.wl', cpus: 2, seed: 1, end: { kind: 'poweroff', status: 0 }, exitCode: 0, instructions: 1000, probeInstructions: 0,
  emulatedNs: 1, hostSeconds: 1, mips: 0, syscalls: {}, console: '', failures: [], ...over,
});

test("the panic's own message, from the console the kernel printed", () => {
  const c = '[    0.1] x\n[    0.2] Kernel panic - not syncing: Fatal exception\n[    0.3] ---[ end Kernel panic - not syncing: Fatal exception ]---\n';
  assert.is(panicMessage(c), 'Fatal exception'); // after printk's timestamp
  const raw = 'x\nKernel panic - not syncing: Fatal exception\n---[ end Kernel panic - not syncing: Fatal exception ]---\n';
  assert.is(panicMessage(raw), 'Fatal exception');
  assert.is(endText(result({ end: { kind: 'panic', reason: 2 }, console: raw, exitCode: 1 })), 'kernel panic: Fatal exception');
  assert.is(endText(result({ end: { kind: 'panic', reason: 2 }, console: '', exitCode: 1 })), 'kernel panic (reason 2)');
});

test('failureLine: nothing for a clean run, one line naming why otherwise', () => {
  assert.is(failureLine(result({})), undefined);
  const f = { file: 'w.wl', line: 3, col: 1, source: 'expect n == 2', message: 'expect n == 2 (n is 1)', task: 0 };
  assert.is(failureLine(result({ exitCode: 1, failures: [f, f] })), '2 expectations failed (first: w.wl:3:1: task 0: expect n == 2 (n is 1))');
  assert.is(failureLine(result({ exitCode: 1, end: { kind: 'stalled', seconds: 10 } })),
    'stalled: no task made a system call for 10 s of emulated time (are all tasks blocked?)');
  assert.is(failureLine(result({ exitCode: 1, end: { kind: 'budget' }, failures: [f] })),
    'instruction budget exhausted (--max-insns 1,000: 0.000 ms of emulated time, 0 system calls); 1 expectation failed (first: w.wl:3:1: task 0: expect n == 2 (n is 1))');
  for (const l of [failureLine(result({ exitCode: 1, end: { kind: 'interrupted' } }))]) assert.ok(l && !l.includes('\n'));
});

test.run();
