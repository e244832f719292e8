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

test.run();
