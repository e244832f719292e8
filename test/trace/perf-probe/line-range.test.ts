import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE, fixtureImage } from '../../elf/fixture.js';
import { openDwarf } from '../../../src/debuginfo/open.js';
import { findLineRange, formatLineRange, lineRangeText, parseLineRange } from '../../../src/trace/perf-probe/line-range.js';

// The CLI's output of the same ranges is checked in test/cli/line.test.ts, perf's in the perf oracles.

test('parseLineRange and formatLineRange', () => {
  assert.equal(parseLineRange('f:3+2'), { ok: true, spec: { function: 'f', start: 3, end: 4 } }, '+NUM: NUM lines');
  assert.equal(parseLineRange('f@a.c:1-2'), { ok: true, spec: { function: 'f', file: 'a.c', start: 1, end: 2 } });
  assert.equal(parseLineRange('a.c:7'), { ok: true, spec: { file: 'a.c', start: 7, end: 0x7fffffff } });
  assert.not.ok(parseLineRange('a.c@b.c').ok);
  const text = formatLineRange({ path: 'x.c', start: 2, end: 4, offset: 1, lines: [3], function: 'g' }, ['a', 'b', 'c', 'd', 'e'], 'x.c');
  assert.is(text, '<g@x.c:1>\n         b\n      2  c\n         d\n');
});

test("findLineRange: perf's alternative line range, for a symbol the DWARF has no function of at a function's entry", () => {
  const img = fixtureImage();
  const d = openDwarf(img, FIXTURE).dwarf;
  const entry = img.functionNamed('vfs_read')!.addr;
  const symbol = (n: string) => (n === 'alias_of_vfs_read' ? entry : img.functionNamed(n)?.addr);
  const want = findLineRange(d, { function: 'vfs_read', start: 0, end: 0x7fffffff });
  assert.ok(!('error' in want));
  assert.equal(findLineRange(d, { function: 'alias_of_vfs_read', start: 0, end: 0x7fffffff }, { symbol }), want);
  assert.equal(findLineRange(d, { function: 'alias_of_vfs_read', start: 0, end: 0x7fffffff }), { error: "Failed to find the function 'alias_of_vfs_read' in the debug info" });
  assert.equal(findLineRange(d, { function: 'alias_of_vfs_read', file: 'read_write.c', start: 0, end: 0x7fffffff }, { symbol }),
    { error: "Failed to find the function 'alias_of_vfs_read' in the debug info" }, 'FUNC@FILE: no alternative (as perf)');
});

test('lineRangeText: the text of findLineRange and formatLineRange; failures with their reason, usage ones marked', () => {
  const d = openDwarf(fixtureImage(), FIXTURE).dwarf;
  const src = readFileSync(join(FIXTURE, '..', 'kernel', 'fs', 'read_write.c'), 'utf8').split('\n');
  const read = (p: string) => { assert.match(p, /read_write\.c$/); return src; };
  const r = lineRangeText(d, 'vfs_read', read, (p) => p);
  const p = parseLineRange('vfs_read');
  const lr = p.ok ? findLineRange(d, p.spec) : { error: 'parse' };
  assert.ok(r.ok && !('error' in lr));
  if (r.ok && !('error' in lr)) assert.is(r.text, formatLineRange(lr, src, lr.path));
  assert.equal(lineRangeText(d, 'vfs_read:9-3', read, (p) => p), { ok: false, reason: "start line must be smaller than end line in 'vfs_read:9-3'", usage: true });
  assert.equal(lineRangeText(d, 'no_such_function', read, (p) => p), { ok: false, reason: "Failed to find the function 'no_such_function' in the debug info" });
  const short = lineRangeText(d, 'vfs_read', () => ['only one line'], (p) => `<${p}>`);
  assert.ok(!short.ok);
  if (!short.ok) assert.match(short.reason, /^source file <.*read_write\.c> has only 1 lines/);
});

test.run();
