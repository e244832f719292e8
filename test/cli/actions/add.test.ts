// `ktrace add` (src/cli/actions/add.ts) and `run -a` take perf specs through the debug info on the running
// kernel (src/trace/perf-probe/spec-compiler.ts perfSpecLines, tested alone beside it): an inlined
// copy of a function inside a blacklisted (NOKPROBE) function is skipped with perf's warning and the
// other copies are probed, as perf probe does on a live kernel; `add -D` (perf -k, offline) lists all.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ktrace, freshState } from '../run.js';

test('tick_handle_periodic: the copy inlined into a blacklisted function is skipped with a warning, the rest is added', () => {
  const blacklist = ktrace(['fs', 'cat', '/sys/kernel/debug/kprobes/blacklist']).stdout.trim().split('\n').map((l) => l.split('\t')[1]);
  const all = ktrace(['add', '-D', 'tick_handle_periodic']);
  assert.is(all.code, 0, all.stderr);
  const lines = all.stdout.trim().split('\n');
  const fn = (l: string) => l.split(' ')[1].replace(/\+\d+$/, '');
  const skipped = lines.filter((l) => blacklist.includes(fn(l)));
  assert.ok(skipped.length > 0 && skipped.length < lines.length, `a blacklisted copy among ${lines.join(' | ')}`);
  const state = freshState();
  const r = ktrace(['add', 'tick_handle_periodic'], { KTRACE_STATE: state });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, skipped.map((l) => `${fn(l)} is blacklisted function, skip it.\n`).join(''));
  assert.match(r.stdout, /^Added new event:\n  probe:tick_handle_periodic /);
  const events = ktrace(['fs', 'cat', 'kprobe_events'], { KTRACE_STATE: state }).stdout.trim().split('\n');
  assert.equal(events.map((l) => l.split(' ')[1]), lines.filter((l) => !skipped.includes(l)).map((l) => l.split(' ')[1].replace(/\+0$/, '')));
  // run -a takes the same path
  const run = ktrace(['run', 'cat', '-a', 'tick_handle_periodic', '--json'], { KTRACE_STATE: freshState() });
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stderr, /is blacklisted function, skip it\.\n/);
});

test.run();
