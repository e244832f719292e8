import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { eventMatcher, compileSpec, caretLines } from '../../../src/trace/runtime/probe-events.js';

test('GROUP:EVENT patterns', () => {
  const m = eventMatcher('probe:vfs_*');
  assert.ok(m('probe', 'vfs_read'));
  assert.not.ok(m('kprobes', 'vfs_read'));
  assert.ok(eventMatcher('vfs_read')('kprobes', 'vfs_read'));
  assert.ok(eventMatcher('kprobes/vfs_read')('kprobes', 'vfs_read'));
  assert.ok(eventMatcher('*:*')('a', 'b'));
});

test('compileSpec: raw lines pass through, perf specs compile, clashes report', () => {
  assert.equal(compileSpec(['p:x vfs_read'], () => false, false), { ok: true, line: 'p:x vfs_read', added: [] });
  const c = compileSpec(['vfs_read', 'fd=%di'], () => false, false);
  assert.ok(c.ok && c.line === 'p:probe/vfs_read vfs_read+0 fd=%di');
  const clash = compileSpec(['vfs_read'], (g, e) => g === 'probe' && e === 'vfs_read', false);
  assert.ok(!clash.ok && /already exists/.test(clash.message));
  const f = compileSpec(['vfs_read'], (g, e) => g === 'probe' && e === 'vfs_read', true);
  assert.ok(f.ok && f.line === 'p:probe/vfs_read_1 vfs_read+0');
  const bad = compileSpec(['vfs_read+x'], () => false, false);
  assert.ok(!bad.ok && bad.message.endsWith('  vfs_read+x\n           ^\n'));
});

test('caretLines: the text, then a caret under the column', () => {
  assert.is(caretLines('abc def', 4), '  abc def\n      ^\n');
});

test.run();
