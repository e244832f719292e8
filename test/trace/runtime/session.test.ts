import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TraceSession } from '../../../src/trace/runtime/session.js';
import { emptyTraceState, FIRST_EVENT_ID } from '../../../src/trace/runtime/state.js';
import { checkBackend } from '../../../src/trace/runtime/check-backend.js';
import { imageResolver } from '../../../src/trace/kprobe-events/index.js';
import { fixtureImage } from '../../elf/fixture.js';

const img = fixtureImage();
const open = (s = emptyTraceState()) => new TraceSession(s, { resolver: imageResolver(img), backend: checkBackend(img) });

test('state round-trips: events, enable flags, error_log, ids, counters', () => {
  const a = open();
  assert.ok(a.events.write('p:kprobes/x vfs_read fd=%di\np:g/y vfs_write\n') > 0);
  assert.is(a.events.write('p:bad nope_nope\n') < 0, true);
  a.events.setEnabled('g', 'y', true);
  a.addCounts(a.events.probes[0]!, 3, 1);
  assert.is(a.eventId('kprobes', 'x'), FIRST_EVENT_ID);
  const s = a.snapshot();
  assert.is(s.kprobeEvents, 'p:kprobes/x vfs_read fd=%di\np:g/y vfs_write\n');
  assert.equal(s.enabled, ['g/y']);
  assert.equal(s.profile, { 'p:kprobes/x vfs_read fd=%di': [3, 1] });
  assert.is(s.errorLog.length, 1);
  const b = open(JSON.parse(JSON.stringify(s)));
  assert.is(b.events.read(), s.kprobeEvents);
  assert.ok(b.events.isEnabled('g', 'y'));
  assert.not.ok(b.events.isEnabled('kprobes', 'x'));
  assert.is(b.events.errorLog.text(), a.events.errorLog.text());
  assert.equal(b.counters(b.events.probes[0]!), { hits: 3, misses: 1 });
  assert.is(b.eventId('g', 'y'), FIRST_EVENT_ID + 1);
  assert.is(b.eventId('kprobes', 'x'), FIRST_EVENT_ID);
});

test('removing an event drops its counters; removing all keeps the trace buffer (cleared only through trace)', () => {
  const a = open();
  a.events.write('p:kprobes/x vfs_read\n');
  a.addCounts(a.events.probes[0]!, 1, 0);
  a.state = { ...a.state, trace: 'line\n', traceEntries: 1, traceWritten: 1 };
  a.events.write('-:kprobes/x\n');
  const s = a.snapshot();
  assert.equal(s.profile, {});
  assert.equal([s.trace, s.traceEntries, s.traceWritten], ['line\n', 1, 1]);
  assert.equal(s.ids, {});
});

test.run();
