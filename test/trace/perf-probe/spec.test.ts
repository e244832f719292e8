import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatProbePoint, parseProbeArg, parseProbeSpec } from '../../../src/trace/perf-probe/spec.js';

const point = (s: string) => { const r = parseProbeSpec([s]); if (!r.ok) throw new Error(r.reason); return r.value.point; };

test('probe points: every perf form', () => {
  assert.equal(point('vfs_read'), { function: 'vfs_read', offset: 0, retprobe: false });
  assert.equal(point('vfs_read+0x10'), { function: 'vfs_read', offset: 16, retprobe: false });
  assert.equal(point('vfs_read:3'), { function: 'vfs_read', line: 3, offset: 0, retprobe: false });
  assert.equal(point('vfs_read%return'), { function: 'vfs_read', offset: 0, retprobe: true });
  assert.equal(point('vfs_read@fs/read_write.c:3'), { function: 'vfs_read', file: 'fs/read_write.c', line: 3, offset: 0, retprobe: false });
  assert.equal(point('fs/read_write.c:30'), { file: 'fs/read_write.c', line: 30, offset: 0, retprobe: false });
  assert.equal(point('vfs_read;count = *'), { function: 'vfs_read', offset: 0, retprobe: false, lazy: 'count' });
  assert.equal(parseProbeSpec(["vfs_read;count=*"]).ok && (parseProbeSpec(['vfs_read;count=*']) as { value: { point: { lazy: string } } }).value.point.lazy, 'count=*');
  const ev = parseProbeSpec(['g:e=vfs_read', 'count']);
  assert.ok(ev.ok && ev.value.group === 'g' && ev.value.event === 'e' && ev.value.args.length === 1);
});

test('bad points are values with reasons', () => {
  for (const [s, re] of [['vfs_read:x', /line number/], ['vfs_read+z', /offset/], ['vfs_read%returnx', /after %return/],
    ['read_write.c', /needs :LINE/], ['vfs_read:1;x*', /exclude/], ['1bad=vfs_read', /event name/], ['', /no probe point/]] as const) {
    const r = parseProbeSpec([s]);
    assert.not.ok(r.ok, s);
    if (!r.ok) assert.match(r.reason, re, s);
  }
});

test('function or file as perf decides (a file has a . or / and :LINE or ;PATTERN); carets in the joined words', () => {
  const point = (s: string) => { const r = parseProbeSpec([s]); if (!r.ok) throw new Error(r.reason); return r.value.point; };
  assert.equal(point('vfs_read.isra.0+4'), { function: 'vfs_read.isra.0', offset: 4, retprobe: false });
  assert.equal(point('fs/read_write.c:10'), { file: 'fs/read_write.c', line: 10, offset: 0, retprobe: false });
  assert.equal(point('read_write.c;count*'), { file: 'read_write.c', offset: 0, retprobe: false, lazy: 'count*' });
  const pos = (w: string[]) => { const r = parseProbeSpec(w); return r.ok ? -1 : r.pos; };
  assert.is(pos(['ev=vfs_read+']), 12);
  assert.is(pos(['vfs_read%ret']), 8);
  assert.is(pos(['g:1bad=vfs_read']), 2);
  assert.is(pos(['vfs_read', 'a->']), 9);
  assert.is(pos(['vfs_read+0x1ffffffff']), 9, 'offsets are 32-bit, as the kernel takes them');
});

test('arguments: names, fields, indices, types; kernel fetch args pass through', () => {
  assert.equal(parseProbeArg('file->f_pos'), { ok: true, value: { text: 'file->f_pos', var: 'file', fields: [{ kind: 'arrow', name: 'f_pos' }] } });
  assert.equal(parseProbeArg('x=a.b[2]:u8'), { ok: true, value: { text: 'x=a.b[2]:u8', name: 'x', type: 'u8', var: 'a', fields: [{ kind: 'dot', name: 'b' }, { kind: 'index', index: 2 }] } });
  assert.equal(parseProbeArg('buf:string'), { ok: true, value: { text: 'buf:string', type: 'string', var: 'buf', fields: [] } });
  assert.equal(parseProbeArg('+8(%si):u32'), { ok: true, value: { text: '+8(%si):u32', type: 'u32', var: '+8(%si)', fields: [] } });
  assert.equal(parseProbeArg('$params'), { ok: true, value: { text: '$params', var: '$params', fields: [] } });
  assert.not.ok(parseProbeArg('a->').ok);
});

test('formatProbePoint follows synthesize_perf_probe_point', () => {
  assert.is(formatProbePoint(point('vfs_read+4')), 'vfs_read+4');
  assert.is(formatProbePoint(point('vfs_read:3')), 'vfs_read:3');
  assert.is(formatProbePoint(point('vfs_read%return')), 'vfs_read%return');
  assert.is(formatProbePoint(point('fs/read_write.c:30')), '@fs/read_write.c:30');
  assert.is(formatProbePoint({ file: 'a/very/long/path/that/goes/on/and/on/fs/read_write.c', line: 2, offset: 0, retprobe: false }), '@on/and/on/fs/read_write.c:2');
});

test.run();
