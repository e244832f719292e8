import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Vfs } from '../../src/trace/vfs.js';
import { EINVAL, EACCES, ENOENT, EISDIR } from '../../src/base/errno.js';

function tree() {
  const v = new Vfs();
  let value = 'a\n';
  v.addFile('/sys/kernel/tracing/kprobe_events', {
    mode: 0o644,
    read: () => value,
    write: (text, { truncate }) => {
      if (text.includes('bad')) return { ok: false, errno: -EINVAL, reason: 'bad' };
      value = truncate ? text : value + text;
      return { ok: true };
    },
  });
  v.addFile('/sys/kernel/tracing/README', { mode: 0o444, read: () => 'readme\n' });
  v.addFile('/sys/kernel/tracing/trace_marker', { mode: 0o200, write: () => ({ ok: true }) });
  return v;
}

test('read, write with truncate and append, errno values', () => {
  const v = tree();
  assert.equal(v.read('/sys/kernel/tracing/kprobe_events'), { ok: true, text: 'a\n' });
  assert.equal(v.write('/sys/kernel/tracing/kprobe_events', 'b\n', { truncate: false }), { ok: true });
  assert.equal(v.read('/sys/kernel/tracing/kprobe_events'), { ok: true, text: 'a\nb\n' });
  v.write('/sys/kernel/tracing/kprobe_events', 'c\n', { truncate: true });
  assert.equal(v.read('/sys/kernel/tracing/kprobe_events'), { ok: true, text: 'c\n' });
  assert.equal(v.write('/sys/kernel/tracing/kprobe_events', 'bad', { truncate: true }), { ok: false, errno: -22, reason: 'bad' });
  assert.equal(v.write('/sys/kernel/tracing/README', 'x', { truncate: true }), { ok: false, errno: -EACCES });
  assert.equal(v.read('/sys/kernel/tracing/trace_marker'), { ok: false, errno: -EACCES });
  assert.equal(v.read('/nope'), { ok: false, errno: -ENOENT });
  assert.equal(v.read('/sys/kernel'), { ok: false, errno: -EISDIR });
  assert.equal(v.read('relative'), { ok: false, errno: -ENOENT });
  assert.equal(v.read('/sys/kernel/tracing/README/x'), { ok: false, errno: -ENOENT });
});

test('paths: . and .. and repeated slashes', () => {
  const v = tree();
  assert.equal(v.read('/sys//kernel/./tracing/../tracing/README'), { ok: true, text: 'readme\n' });
  assert.equal(v.read('/../sys/kernel/tracing/README'), { ok: true, text: 'readme\n' });
});

test('list: sorted names, dirs marked; a file lists as itself; remove', () => {
  const v = tree();
  const r = v.list('/sys/kernel/tracing');
  assert.ok(r.ok);
  if (r.ok) assert.equal(r.entries.map((e) => e.name), ['README', 'kprobe_events', 'trace_marker']);
  const root = v.list('/');
  if (root.ok) assert.equal(root.entries, [{ name: 'sys', dir: true }]);
  assert.equal(v.list('/sys/kernel/tracing/README'), { ok: true, entries: [{ name: '/sys/kernel/tracing/README', dir: false }] });
  assert.equal(v.list('/x'), { ok: false, errno: -2 });
  assert.ok(v.remove('/sys/kernel/tracing/README'));
  assert.equal(v.read('/sys/kernel/tracing/README'), { ok: false, errno: -2 });
});

test.run();
