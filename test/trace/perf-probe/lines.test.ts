import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { functionRows, isReversible, lazyMatch, pathMatches, reverseLine, unitRows } from '../../../src/trace/perf-probe/lines.js';
import { fixtureDwarf } from './fixture.js';

test('functionRows: vfs_read walks its own lines; the inlined rw_verify_area counts as its call line', () => {
  const d = fixtureDwarf().dwarf;
  const f = d.functionsByName('vfs_read').find((x) => x.kind === 'function')!;
  const rows = functionRows(d, f);
  // The body's is_stmt rows (none from inside the inlined rw_verify_area but its call line 30), then the
  // declaration line at the entry and each directly inlined call's line: not the callee's declaration
  // (line 9), which only the walk of a whole unit gives (dwarf-aux.c: not recursive on a function).
  const own = rows.filter((r) => r.path.endsWith('fs/read_write.c'));
  assert.equal([...new Set(own.map((r) => r.line))].sort((a, b) => a - b), [20, 21, 22, 24, 26, 28, 30, 33, 35]);
  assert.ok(rows.some((r) => r.line === 30 && r.address === f.entryPc + 49));
  const decl = rows.findIndex((r) => r.line === 20);
  assert.equal(rows[decl], { address: f.entryPc, path: f.declFile, line: 20 });
  assert.is(rows[rows.length - 1]!.line, 30, 'the inlined call line comes last, after the declaration');
});

test('unitRows: a whole unit gives every statement row, then per function its declaration and, nested, each inlined call with the callee\'s declaration', () => {
  const d = fixtureDwarf().dwarf;
  const f = d.functionsByName('vfs_read').find((x) => x.kind === 'function')!;
  const rows = unitRows(d, d.unitAt(f.entryPc)!);
  const firstDecl = rows.findIndex((r, i) => i > 0 && r.address < rows[i - 1]!.address);
  assert.ok(firstDecl > 0, 'the statement rows come first, in address order');
  const tail = rows.slice(firstDecl);
  assert.ok(tail.some((r) => r.line === 30 && r.address === f.entryPc + 49), 'rw_verify_area\'s call line in vfs_read');
  assert.ok(tail.some((r) => r.line === 9 && r.address === f.entryPc + 49), 'and its declaration line 9, at the same entry');
  assert.ok(tail.some((r) => r.line === 20 && r.address === f.entryPc), 'vfs_read\'s own declaration at its entry');
});

test('functionRows: an inlined call GCC kept with empty code (low_pc == high_pc) still gives its call line at its entry', () => {
  const d = fixtureDwarf().dwarf;
  const f = d.functionsByName('do_sys_openat2').find((x) => x.kind === 'function')!;
  // IS_ERR(tmp) on line 41 is folded into the caller's compare: its inlined copy covers no bytes.
  const isErr = d.functionsByName('IS_ERR');
  assert.ok(isErr.every((x) => x.ranges.length > 0), 'functionInstance alone skips the empty copy');
  const row = functionRows(d, f).find((r) => r.line === 41 && r.address === f.entryPc + 0x54);
  assert.ok(row, 'the call line 41 at the empty copy\'s entry (do_sys_openat2+0x54)');
  assert.ok(isReversible(d, row!.address, row!.path, 41), 'a statement row for line 41 starts there: perf -L numbers it');
});

test('reverseLine: a function entry is its declaration line, else the first statement row at the address', () => {
  const d = fixtureDwarf().dwarf;
  const f = d.functionsByName('vfs_read').find((x) => x.kind === 'function')!;
  assert.is(reverseLine(d, f.entryPc)?.line, 20, 'line 21 ({) also starts there, but perf reads the declaration back');
  assert.is(reverseLine(d, f.entryPc + 5)?.line, 22, 'lines 22, 24 and 21 share +5: the first statement row wins');
  assert.ok(isReversible(d, f.entryPc + 5, f.declFile!, 22));
  assert.not.ok(isReversible(d, f.entryPc + 5, f.declFile!, 24));
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

test('lazyMatch is perf\'s glob in linear time: many stars, long texts, classes, escapes (fuzz seeds 1791, 2124, 1873)', () => {
  const t0 = Date.now();
  assert.ok(lazyMatch('*'.repeat(64) + 'count*', 'ssize_t count = 1;'));
  assert.not.ok(lazyMatch('*count' + '*'.repeat(300), 'x'.repeat(2000)));
  assert.not.ok(lazyMatch('*a'.repeat(40) + 'b', 'a'.repeat(2000)));
  assert.not.ok(lazyMatch('*count2' + 'a'.repeat(5000) + 'count*', 'count2 count'));
  assert.ok(Date.now() - t0 < 1000, `${Date.now() - t0} ms`);
  // Classes as __match_charclass takes them: ranges, !, a literal first ], nothing for a reversed range or no ].
  assert.ok(lazyMatch('[a-c]x', 'bx'));
  assert.ok(lazyMatch('[!a-c]x', 'dx'));
  assert.not.ok(lazyMatch('[!a-c]x', 'bx'));
  assert.ok(lazyMatch('[]]', ']'));
  assert.not.ok(lazyMatch('[c-a]', 'b'));
  assert.not.ok(lazyMatch('[abc', 'a'));
  assert.ok(lazyMatch('a\\*b', 'a*b'));
  assert.not.ok(lazyMatch('a\\*b', 'axb'));
  assert.ok(lazyMatch('?*', 'x'));
  assert.not.ok(lazyMatch('?*', ''));
  assert.ok(lazyMatch('*', ''));
});

test.run();
