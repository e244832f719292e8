import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Vfs } from '../../../src/trace/vfs.js';
import { addTracefs, TRACEFS } from '../../../src/trace/runtime/tracefs.js';
import { TraceSession } from '../../../src/trace/runtime/session.js';
import { emptyTraceState } from '../../../src/trace/runtime/state.js';
import { checkBackend } from '../../../src/trace/runtime/check-backend.js';
import { imageResolver } from '../../../src/trace/kprobe-events/index.js';
import { fixtureImage } from '../../elf/fixture.js';

const img = fixtureImage();
function tree() {
  const s = new TraceSession(emptyTraceState(), { resolver: imageResolver(img), backend: checkBackend(img) });
  const vfs = new Vfs();
  let changes = 0;
  addTracefs(vfs, s, { onChange: () => { changes++; } });
  return { s, vfs, changes: () => changes };
}
const W = (vfs: Vfs, f: string, t: string, truncate = false) => vfs.write(`${TRACEFS}/${f}`, t, { truncate });
const R = (vfs: Vfs, f: string) => { const r = vfs.read(`${TRACEFS}/${f}`); return r.ok ? r.text : `errno ${r.errno}`; };

test('kprobe_events writes build events/, enable files read 0/1/X, writes report errno', () => {
  const { vfs, changes } = tree();
  assert.equal(W(vfs, 'kprobe_events', 'p:a vfs_read\np:g/b vfs_write\n'), { ok: true });
  assert.is(changes(), 1);
  assert.is(R(vfs, 'events/kprobes/a/enable'), '0\n');
  assert.match(R(vfs, 'events/g/b/id'), /^\d+\n$/);
  assert.equal(W(vfs, 'events/kprobes/a/enable', '1\n'), { ok: true });
  assert.is(R(vfs, 'events/enable'), 'X\n');
  assert.is(R(vfs, 'events/kprobes/enable'), '1\n');
  assert.equal(W(vfs, 'events/enable', 'yes'), { ok: false, errno: -22 });
  assert.equal(W(vfs, 'events/enable', '1'), { ok: true });
  assert.is(R(vfs, 'events/g/enable'), '1\n');
  // O_TRUNC with enabled events: -EBUSY, nothing removed (dyn_events_release_all).
  assert.equal(W(vfs, 'kprobe_events', '', true), { ok: false, errno: -16 });
  assert.equal(W(vfs, 'events/enable', '0'), { ok: true });
  assert.equal(W(vfs, 'kprobe_events', '', true), { ok: true });
  assert.is(vfs.lookup(`${TRACEFS}/events/kprobes`), undefined);
  assert.equal(W(vfs, 'kprobe_profile', 'x'), { ok: false, errno: -13 });
});

test('trace and error_log: header, O_TRUNC clears', () => {
  const { vfs, s } = tree();
  s.state = { ...s.state, trace: '  x-1 [000] d.Z.. 0.000001: a: (vfs_read+0x0/0x80)\n', traceEntries: 1, traceWritten: 3, cpus: 4 };
  assert.match(R(vfs, 'trace'), /^# tracer: nop\n#\n# entries-in-buffer\/entries-written: 1\/3   #P:4\n[\s\S]*a: \(vfs_read\+0x0\/0x80\)\n$/);
  W(vfs, 'trace', '', true);
  assert.match(R(vfs, 'trace'), /entries-written: 0\/0 /);
  W(vfs, 'kprobe_events', 'p:bad nope_nope\n');
  assert.match(R(vfs, 'error_log'), /Invalid probed address or symbol/);
  W(vfs, 'error_log', 'x');
  assert.match(R(vfs, 'error_log'), /Invalid probed/, 'appending does not clear');
  W(vfs, 'error_log', '', true);
  assert.is(R(vfs, 'error_log'), '');
  assert.match(R(vfs, 'README'), /kprobe_events/);
});

test('filter, trigger and hist files; tracing_on; trace_pipe consumes what it reads', () => {
  const { s, vfs } = tree();
  assert.equal(W(vfs, 'kprobe_events', 'p:a vfs_read n=%dx:u32\n'), { ok: true });
  assert.is(R(vfs, 'events/kprobes/a/filter'), 'none\n');
  assert.equal(W(vfs, 'events/kprobes/a/filter', 'n > 3 && comm ~ "c*"\n'), { ok: true });
  assert.is(R(vfs, 'events/kprobes/a/filter'), 'n > 3 && comm ~ "c*"\n');
  // a bad filter: EINVAL, kept as its error text, and an error_log entry
  assert.equal(W(vfs, 'events/kprobes/a/filter', 'm > 3\n'), { ok: false, errno: -22 });
  assert.is(R(vfs, 'events/kprobes/a/filter'), 'm > 3\n ^\nparse_error: Field not found\n');
  assert.match(R(vfs, 'error_log'), /event filter parse error: error: Field not found\n  Command: m > 3\n {12}\^\n$/);
  assert.equal(W(vfs, 'events/kprobes/a/filter', '0\n'), { ok: true });
  assert.is(R(vfs, 'events/kprobes/a/filter'), 'none\n');
  assert.equal(W(vfs, 'events/kprobes/a/trigger', 'hist:keys=n.log2\n'), { ok: true });
  assert.match(R(vfs, 'events/kprobes/a/hist'), /^# event histogram\n#\n# trigger info: hist:keys=n\.log2:vals=hitcount:sort=hitcount:size=2048 \[active\]\n#\n\n\nTotals:\n    Hits: 0\n    Entries: 0\n    Dropped: 0\n$/);
  assert.equal(W(vfs, 'events/kprobes/a/trigger', 'hist:keys=nope\n'), { ok: false, errno: -22 });
  assert.match(R(vfs, 'error_log'), /hist:kprobes:a: error: Couldn't find field\n  Command: hist:keys=nope\n {21}\^\n$/);
  assert.is(R(vfs, 'tracing_on'), '1\n');
  assert.equal(W(vfs, 'tracing_on', '0\n'), { ok: true });
  assert.is(s.state.tracingOn, false);
  s.state = { ...s.state, trace: 'l1\nl2\n', traceEntries: 2, traceWritten: 2 };
  assert.is(R(vfs, 'trace_pipe'), 'l1\nl2\n');
  assert.is(R(vfs, 'trace_pipe'), '');
  assert.match(R(vfs, 'trace'), /entries-in-buffer\/entries-written: 0\/2 /);
});

test.run();
