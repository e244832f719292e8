import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { functionRows, lazyMatch, pathMatches } from '../../../src/trace/perf-probe/lines.js';
import { fixtureDwarf } from './fixture.js';

test('functionRows: vfs_read walks its own lines; the inlined rw_verify_area counts as its call line', () => {
  const d = fixtureDwarf().dwarf;
  const f = d.functionsByName('vfs_read').find((x) => x.kind === 'function')!;
  const rows = functionRows(d, f);
  assert.ok(rows.every((r) => r.path.endsWith('fs/read_write.c')), 'no line of the inlined callee');
  assert.equal([...new Set(rows.map((r) => r.line))].sort((a, b) => a - b), [20, 21, 22, 24, 26, 28, 30, 33, 35]);
  assert.ok(rows.some((r) => r.line === 30 && r.address === f.entryPc + 49));
});

test('pathMatches and lazyMatch', () => {
  assert.ok(pathMatches('./kernel/fs/read_write.c', 'fs/read_write.c'));
  assert.ok(pathMatches('./kernel/fs/read_write.c', 'kernel/fs/read_write.c'));
  assert.not.ok(pathMatches('./kernel/fs/read_write.c', 's/read_write.c'));
  assert.ok(lazyMatch('count=*', '\t\tcount = MAX_RW_COUNT;'));
  assert.ok(lazyMatch('*f_op*', 'if (!file->f_op->read)'));
  assert.not.ok(lazyMatch('count', 'count = 1;'));
  assert.ok(lazyMatch('a[bc]?', 'a c x'));
});

test.run();
