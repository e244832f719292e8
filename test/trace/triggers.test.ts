// Triggers and filters of a kprobe event as kernel/trace/trace_events_trigger.c and
// trace_events_hist.c handle them: the semantic-error sequences of the kernel's selftests
// (tools/testing/selftests/ftrace/test.d/trigger/trigger-{filter,stacktrace,traceonoff}.tc) on
// a kprobe event's fields, the trigger file's lines, the hist file's format, and the order of
// work at a hit (triggers before the buffer, the event filter discarding only the record).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeTrigger, readTriggers, readHist, TriggerRuntime, writeEventFilter, type StoredTrigger } from '../../src/trace/triggers.js';
import { parseKprobeCommand, type ProbeDef } from '../../src/trace/kprobe-events/probe.js';

const resolver = { lookup: () => 0xffffffff81000000n, count: () => 1, moduleOf: () => undefined, isFunctionEntry: () => true } as never;
function probe(line: string): ProbeDef {
  const r = parseKprobeCommand(line, resolver);
  if (!r.ok || r.command.kind !== 'create') throw new Error(line);
  return r.command.probe;
}
const P = probe('r:kprobes/fork kernel_clone child_pid=$retval:s32 parent_comm=$comm');

function apply(list: StoredTrigger[], text: string, truncate = false): { rc: number; list: StoredTrigger[] } {
  const r = writeTrigger(list, text, P, truncate);
  return { rc: r.errno, list: r.list };
}

test('trigger-filter.tc and trigger-traceonoff.tc semantic errors, on a kprobe event', () => {
  let l: StoredTrigger[] = [];
  for (const bad of ['traceoff if a', 'traceoff if common_pid=0', 'traceoff if common_pid==b', 'traceoff if common_pid == child_pid']) assert.ok(apply(l, bad).rc < 0, bad);
  for (const good of ['traceoff if common_pid == 0', 'traceoff if common_pid <= 0', 'traceoff if common_pid >= 0',
    'traceoff if common_pid >= 0 && child_pid >= 0', 'traceoff if common_pid >= 0 || child_pid >= 0']) {
    const a = apply(l, good);
    assert.is(a.rc, 0, good);
    l = apply(a.list, '!traceoff').list;
    assert.equal(l, []);
  }
  assert.ok(apply(l, 'traceoff:badparam').rc < 0);
  assert.ok(apply(l, 'traceoff+0').rc < 0);
  l = apply(l, 'traceon').list;
  assert.is(apply(l, 'traceon').rc, -17); // EEXIST
  assert.is(apply(l, 'traceoff').rc, -17); // traceon and traceoff are one trigger type
  assert.is(readTriggers(l, P), 'traceon:unlimited\n');
  l = apply(apply(l, '!traceon').list, 'traceon:3 if child_pid > 0').list;
  assert.is(readTriggers(l, P), 'traceon:count=3 if child_pid > 0\n');
});

test('trigger-stacktrace.tc semantic errors; the available triggers when there is none', () => {
  assert.match(readTriggers([], P), /^# Available triggers:\n# traceon traceoff stacktrace hist\n$/);
  assert.ok(apply([], 'stacktrace:foo').rc < 0);
  const l = apply([], 'stacktrace').list;
  assert.is(apply(l, 'stacktrace').rc, -17);
  // the newest trigger is listed first (list_add_rcu); hist triggers last (list_add_tail_rcu)
  const m = apply(apply(l, 'hist:keys=common_pid').list, 'traceoff:1').list;
  assert.is(readTriggers(m, P), 'traceoff:count=1\nstacktrace:unlimited\nhist:keys=common_pid:vals=hitcount:sort=hitcount:size=2048 [active]\n');
});

test('hist triggers: errors in error_log form, pause/cont/clear, O_TRUNC removes them', () => {
  const bad = writeTrigger([], 'hist:keys=nope', P);
  assert.is(bad.errno, -22);
  assert.equal([bad.log?.subsystem, bad.log?.message, bad.log?.command, bad.log?.pos], ['hist:kprobes:fork', "Couldn't find field", 'hist:keys=nope', 10]);
  const mod = writeTrigger([], 'hist:keys=child_pid.foo', P);
  assert.equal([mod.log?.message, mod.log?.pos], ['Invalid field modifier', 20]);
  assert.is(writeTrigger([], 'hist:keys=child_pid:pause', P).log?.message, "Can't clear or continue a nonexistent hist trigger");
  let l = apply([], 'hist:keys=child_pid').list;
  assert.is(writeTrigger(l, 'hist:keys=child_pid', P).log?.message, 'Hist trigger already exists');
  l = apply(l, 'hist:keys=child_pid:pause').list;
  assert.match(readTriggers(l, P), /\[paused\]\n$/);
  l = apply(l, 'hist:keys=child_pid:cont').list;
  assert.match(readTriggers(l, P), /\[active\]\n$/);
  l = apply(l, 'traceon').list;
  assert.equal(apply(l, 'traceoff', true).rc, -17);
  const emptied = apply(l, '\n', true);
  assert.is(emptied.rc, -22);
  assert.is(readTriggers(emptied.list, P), 'traceon:unlimited\n');
});

test('at a hit: the event filter discards the record, not the triggers; traceoff stops recording; counts run down', () => {
  const key = 'kprobes/fork';
  const f = writeEventFilter('child_pid > 100', P);
  assert.ok(f.ok);
  const triggers = { [key]: [...apply(apply([], 'hist:keys=parent_comm:vals=child_pid').list, 'traceoff:1 if child_pid == 7').list] };
  const rt = new TriggerRuntime({ filters: { [key]: f.ok ? f.stored! : undefined! }, triggers }, [P]);
  const rec = (pid: number) => ({ id: 1500, cpu: 0, comm: 'init', pid: 1, ip: 0n, func: 0n,
    args: [{ arg: P.args[0]!, value: { kind: 'num' as const, value: BigInt(pid) } }, { arg: P.args[1]!, value: { kind: 'str' as const, text: 'init' } }] });
  assert.equal(rt.hit(key, rec(200), 1n), { record: true, stack: false });
  assert.equal(rt.hit(key, rec(5), 2n), { record: false, stack: false }); // filtered out
  assert.equal(rt.hit(key, rec(7), 3n), { record: false, stack: false }); // filtered out; traceoff fires after
  assert.is(rt.tracingOn, false);
  assert.equal(rt.hit(key, rec(300), 4n), { record: false, stack: false }); // tracing off: not recorded, but a filtered event's buffered record still feeds its triggers
  const folded = rt.fold(triggers, true, () => true);
  assert.is(folded.tracingOn, false);
  assert.is(folded.triggers[key]![0]!.count, 0);
  const hist = readHist(folded.triggers[key], P, { noOffset: () => undefined, withOffset: (a) => String(a) });
  assert.is(hist, '# event histogram\n#\n# trigger info: hist:keys=parent_comm:vals=hitcount,child_pid:sort=hitcount:size=2048 [active]\n#\n\n'
    + `{ parent_comm: ${'init'.padEnd(50)} } hitcount:          4  child_pid:        512\n\nTotals:\n    Hits: 4\n    Entries: 1\n    Dropped: 0\n`);
});

test('hist:keys=stacktrace counts distinct kernel stacks, printed as hist_trigger_stacktrace_print does', () => {
  const key = 'kprobes/fork';
  const triggers = { [key]: apply([], 'hist:keys=stacktrace:sort=hitcount.descending').list };
  const rt = new TriggerRuntime({ triggers }, [P]);
  assert.ok(rt.wantsStack(key));
  const rec = (stack: bigint[]) => ({ id: 1, cpu: 0, comm: 'init', pid: 1, ip: 0n, args: [], stack });
  for (const st of [[0x10n, 0x20n], [0x10n, 0x20n], [0x30n]]) rt.hit(key, rec(st), 1n);
  const f = rt.fold(triggers, true, () => true);
  const sym = { noOffset: () => undefined, withOffset: (a: bigint) => `f${a.toString(16)}+0x0/0x10` };
  assert.is(readHist(f.triggers[key], P, sym).split('#\n\n')[1],
    '{ stacktrace:\n         f10+0x0/0x10\n         f20+0x0/0x10\n} hitcount:          2\n'
    + '{ stacktrace:\n         f30+0x0/0x10\n} hitcount:          1\n\nTotals:\n    Hits: 3\n    Entries: 2\n    Dropped: 0\n');
});

test.run();
