// Trace context flags per hit (src/trace/runtime/flags.ts, tracing_gen_ctx): the int3 path is an NMI
// with interrupts off (d.Z), the ftrace path and the kretprobe trampoline run with the probed
// context's interrupts and one preemption level of their own, an optimized probe in the timer
// interrupt is hardirq with interrupts off; the preempt depth is current's plus the path's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ktrace, freshState } from '../../cli/run.js';

const flagsOf = (out: string, event: string) => [...out.matchAll(new RegExp(`\\] (\\S{5}) +[\\d.]+: ${event}: `, 'g'))].map((m) => m[1]);

test('flags follow each hit\'s path and context instead of a constant d.Z..', () => {
  const why = ktrace(['why', 'vfs_read', 'vfs_read+5', 'scheduler_tick+5']).stdout;
  assert.match(why, /vfs_read\+0x0\/\S+  \[FTRACE\]/);
  assert.match(why, /vfs_read\+0x5\/\S+  not optimized/);
  assert.match(why, /scheduler_tick\+0x5\/\S+  \[OPTIMIZED\]/);
  const r = ktrace(['run', 'cat', '-a', 'p:probe/f vfs_read', '-a', 'p:probe/i vfs_read+5', '-a', 'r:probe/r vfs_read', '-a', 'p:probe/o scheduler_tick+5'],
    { KTRACE_STATE: freshState() });
  assert.is(r.code, 0, r.stderr);
  const f = flagsOf(r.stdout, 'f'), i = flagsOf(r.stdout, 'i'), ret = flagsOf(r.stdout, 'r'), o = flagsOf(r.stdout, 'o');
  assert.ok(f.length > 0 && f.length === i.length && i.length === ret.length && o.length > 0);
  // read(2) runs with interrupts on and no preemption disabled
  assert.ok(i.every((x) => x === 'd.Z..'), i.join(' '));
  assert.ok(f.every((x) => x === '...1.'), f.join(' '));
  assert.ok(ret.every((x) => x === '...1.'), ret.join(' '));
  // the timer interrupt: interrupts off, hardirq, the optprobe's preempt_disable on top of current's
  assert.ok(o.every((x) => /^d[.n]h[1-9a-f]\.$/.test(x)), o.join(' '));
  const lines = r.stdout.split('\n').filter((l) => l.includes(': o: '));
  for (const l of lines) {
    const idle = /^\s*swapper\/\d+-0 /.test(l);
    // the idle task runs with preempt_count 1 (as inside schedule), others with 0 in user-mode interrupts
    if (idle) assert.match(l, /\] d[.n]h2\. /, l);
  }
});

test.run();
