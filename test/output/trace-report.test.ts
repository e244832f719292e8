import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderHist, renderProbeTable, log2Bucket, log2Rows, addToLog2, argNumber, isNumericArg, renderRetvals, returnValue } from '../../src/output/trace-report.js';
import { FETCH_TYPES, type TypeName } from '../../src/trace/kprobe-events/index.js';
import type { ProbeArg } from '../../src/trace/kprobe-events/fetch.js';

test('log2 buckets as bpftrace hist() makes them', () => {
  assert.equal([-5n, 0n, 1n, 2n, 3n, 4n, 7n, 8n, 1023n, 1024n].map(log2Bucket), [-1, 0, 1, 2, 2, 3, 3, 4, 10, 11]);
});

test('histogram layout: labels, counts, 52-column bars scaled to the largest bucket, gaps filled', () => {
  const vals = [...Array(40).fill(16n), 64n, 64n, 64n, 256n, 300n, 511n, 300n, 300n];
  assert.is(renderHist('@count[probe:vfs_read]:', vals),
    '@count[probe:vfs_read]:\n'
    + '[16, 32)               40 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n'
    + '[32, 64)                0 |                                                    |\n'
    + '[64, 128)               3 |@@@                                                 |\n'
    + '[128, 256)              0 |                                                    |\n'
    + '[256, 512)              5 |@@@@@@                                              |\n');
  const small = renderHist('@x:', [-3n, 0n, 1n, 1n, 2048n, 1n << 20n]).split('\n');
  assert.equal(small.slice(1, 4).map((l) => l.slice(0, 26)), ['(..., 0)                1 ', '[0]                     1 ', '[1]                     2 ']);
  assert.ok(small.some((l) => l.startsWith('[2K, 4K) ')));
  assert.ok(small.some((l) => l.startsWith('[1M, 2M) ')));
  assert.is(renderHist('@e:', []), '@e:\n(no values)\n');
});

test('probe table', () => {
  assert.is(renderProbeTable([{ event: 'probe:vfs_read', hits: 1234, misses: 0 }, { event: 'p:x', hits: 1, misses: 2 }]),
    'EVENT            HITS  MISSES\nprobe:vfs_read  1,234       0\np:x                 1       2\n');
  assert.is(renderProbeTable([]), '');
});

test('return values: int returns read from %eax, 64-bit ones whole; errno names in the table', () => {
  assert.is(returnValue(0xfffffffffffffffen), -2n);
  assert.is(returnValue(0x00000000fffffffen), 4294967294n, 'an unsigned 32-bit value (upper half zero)');
  assert.is(returnValue(21n), 21n);
  assert.is(returnValue(0xffff888000001000n), BigInt.asIntN(64, 0xffff888000001000n));
  const m = new Map<bigint, number>([[3n, 6], [-2n, 1], [-11n, 1]]);
  const names: Record<number, string> = { [-2]: '-ENOENT', [-11]: '-EAGAIN' };
  assert.is(renderRetvals('probe:x', m, (v) => names[v] ?? String(v)),
    'probe:x returned:\n  VALUE    COUNT\n  3            6\n  -EAGAIN      1\n  -ENOENT      1\n');
});

test('return values: pointers in hex, long tables cut with a count of the rest', () => {
  const m = new Map<bigint, number>(Array.from({ length: 12 }, (_, i) => [BigInt.asIntN(64, 0xffff888000001000n + BigInt(i) * 256n), 12 - i] as [bigint, number]));
  const t = renderRetvals('probe:p', m, String).split('\n');
  assert.is(t[2], '  0xffff888000001000     12');
  assert.is(t.length, 2 + 10 + 2);
  assert.is(t[12], '  ... 2 more values (3 returns)');
});


test('log2 rows, built value by value, are the rows renderHist draws', () => {
  const counts = new Map<number, number>();
  const vals = [3n, 3n, 17n, 0n, -1n];
  for (const v of vals) addToLog2(counts, v);
  const rows = log2Rows(counts);
  assert.equal(rows.map((r) => r.label), ['(..., 0)', '[0]', '[1]', '[2, 4)', '[4, 8)', '[8, 16)', '[16, 32)']);
  assert.equal(rows.map((r) => r.count), [1, 1, 0, 2, 0, 0, 1]);
  const drawn = renderHist('@x:', vals).split('\n').slice(1, -1).map((l) => [l.slice(0, 16).trim(), Number(l.slice(17, 25))]);
  assert.equal(drawn, rows.map((r) => [r.label, r.count]));
  assert.equal(log2Rows(new Map()), []);
});

test('numeric args: signed per their type; strings, arrays, symbols and faults are not numbers', () => {
  const arg = (type: TypeName, count = 0): ProbeArg => ({ name: 'a', comm: '%ax', type: FETCH_TYPES[type], count, fetch: { kind: 'reg', reg: 'ax' } as ProbeArg['fetch'] });
  assert.is(argNumber({ arg: arg('s32'), value: { kind: 'num', value: 0xfffffffen } }), -2n);
  assert.is(argNumber({ arg: arg('u32'), value: { kind: 'num', value: 0xfffffffen } }), 0xfffffffen);
  assert.is(argNumber({ arg: arg('x64'), value: { kind: 'num', value: 5n } }), 5n);
  assert.is(argNumber({ arg: arg('u64'), value: { kind: 'num', value: 0n, fault: true } }), undefined);
  assert.is(argNumber({ arg: arg('string'), value: { kind: 'str', text: 'x' } }), undefined);
  assert.is(argNumber({ arg: arg('u8', 2), value: [{ kind: 'num', value: 1n }, { kind: 'num', value: 2n }] }), undefined);
  assert.not.ok(isNumericArg(arg('symbol')));
  assert.ok(isNumericArg(arg('s8')));
});

test.run();
