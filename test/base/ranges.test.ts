// Range sets: merging, and the lookup checked against a plain scan over random ranges and queries.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mergeRanges, rangesMeet } from '../../src/base/ranges.js';

test('overlapping and touching ranges merge; disjoint ones stay apart, sorted', () => {
  assert.equal(mergeRanges([[10, 20], [0, 5], [15, 30], [30, 31], [40, 41]]), [0, 5, 10, 31, 40, 41]);
  assert.equal(mergeRanges([]), []);
});

test('rangesMeet agrees with a scan of every range (seeded random sets and queries)', () => {
  let seed = 12345;
  const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };
  for (let round = 0; round < 200; round++) {
    const raw: [number, number][] = [];
    for (let i = rnd(12); i > 0; i--) { const s = rnd(200) - 100; raw.push([s, s + 1 + rnd(10)]); }
    const copy = raw.map((r) => [r[0], r[1]] as [number, number]);
    const flat = mergeRanges(raw);
    for (let q = 0; q < 50; q++) {
      const a = rnd(220) - 110, b = a + 1 + rnd(8);
      assert.is(rangesMeet(flat, a, b), copy.some(([s, e]) => s < b && a < e), `[${a}, ${b}) against ${JSON.stringify(copy)}`);
    }
  }
});

test.run();
