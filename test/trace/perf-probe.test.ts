import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parsePerfProbe, kprobeEventsLine, isRawKprobeLine, eventName, baseEventName } from '../../src/trace/perf-probe.js';

const line = (...w: string[]) => {
  const r = parsePerfProbe(w);
  if (!r.ok) throw new Error(r.message);
  return kprobeEventsLine(r.probe);
};

test('perf specs compile to kprobe_events lines as perf probe -D prints them', () => {
  assert.is(line('vfs_read'), 'p:probe/vfs_read vfs_read+0');
  assert.is(line('vfs_read%return', '$retval'), 'r:probe/vfs_read__return vfs_read+0 $retval');
  // As perf 6.1 names them (test/trace/perf-probe/oracle): an offset keeps the function's name, a given
  // name still gets __return, a .suffix is cut.
  assert.is(line('vfs_read+16'), 'p:probe/vfs_read vfs_read+16');
  assert.is(line('vfs_read+0x10'), 'p:probe/vfs_read vfs_read+16');
  assert.is(line('myev=vfs_read%return'), 'r:probe/myev__return vfs_read+0');
  assert.is(line('myev=vfs_read', 'fd=%di', '$comm', '@jiffies', 'c=%dx:u32'), 'p:probe/myev vfs_read+0 fd=%di $comm @jiffies c=%dx:u32');
  assert.is(line('grp:myev=vfs_read'), 'p:grp/myev vfs_read+0');
  assert.is(line('ksys_read fd=%di  count=%dx'), 'p:probe/ksys_read ksys_read+0 fd=%di count=%dx');
  assert.is(line('foo.cold'), 'p:probe/foo foo.cold+0');
  assert.is(line('vfs_read', '+8(%di):u64', '$stack2', '$arg1'), 'p:probe/vfs_read vfs_read+0 +8(%di):u64 $stack2 $arg1');
});

test('perf spec errors carry the caret position', () => {
  const err = (w: string[], pos: number, msg: RegExp) => {
    const r = parsePerfProbe(w);
    assert.is(r.ok, false);
    if (r.ok) return;
    assert.is(r.pos, pos, r.message);
    assert.match(r.message, msg);
  };
  err(['vfs_read+'], 9, /offset/);
  err(['vfs_read%ret'], 8, /unexpected/);
  err(['vfs_read@fs/read_write.c'], 8, /debuginfo/);
  err(['vfs_read:10'], 8, /debuginfo/);
  err(['vfs_read', 'count'], 9, /variable name/);
  err(['vfs_read', 'x=count'], 11, /variable name/);
  err(['1bad=vfs_read'], 0, /event name/);
  err(['b-ad:ev=vfs_read'], 0, /group name/);
  err([''], 0, /no probe point/);
  err(['9vfs'], 0, /function name/);
});

test('raw kprobe_events lines are recognised', () => {
  for (const s of ['p:foo vfs_read', 'r:foo vfs_read', 'p vfs_read', 'r vfs_read', 'r10:foo vfs_read', '-:foo']) assert.ok(isRawKprobeLine(s), s);
  for (const s of ['vfs_read', 'probe:ev=vfs_read', 'pipe_read', 'rest_init']) assert.not.ok(isRawKprobeLine(s), s);
});

test('event names: perf bases and -f suffixes', () => {
  assert.is(baseEventName({ func: 'vfs_read', offset: 0, ret: true }), 'vfs_read__return');
  const taken = new Set(['vfs_read', 'vfs_read_1']);
  assert.is(eventName('vfs_read', (n) => taken.has(n), false), undefined);
  assert.is(eventName('vfs_read', (n) => taken.has(n), true), 'vfs_read_2');
  assert.is(eventName('ksys_read', (n) => taken.has(n), false), 'ksys_read');
});

test.run();
