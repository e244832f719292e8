import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Aggregation, parseAgg, renderAggregation, type AggRecord } from '../../src/output/aggregate.js';

const rec = (event: string, comm: string, pid: number, cpu: number, vals: Record<string, bigint | string>): AggRecord =>
  ({ event, comm, pid, cpu, value: (n) => vals[n] });

test('parse: FUNC[(ARG)] by KEY with an optional EVENT:, retval as $retval; mistakes are errors', () => {
  assert.equal({ ...parseAgg('sum(count) by comm'), event: undefined }, { text: 'sum(count) by comm', func: 'sum', arg: 'count', key: 'comm', event: undefined });
  const p = parseAgg('vfs_read__return:max(retval) by pid');
  assert.is(p.arg, '$retval');
  assert.ok(p.event!.test('probe:vfs_read__return'));
  assert.not.ok(p.event!.test('probe:vfs_read'));
  assert.ok(parseAgg('probe:vfs_*:count by cpu').event!.test('probe:vfs_write'));
  assert.throws(() => parseAgg('count(x) by comm'), /count takes no argument/);
  assert.throws(() => parseAgg('avg by comm'), /avg needs an argument/);
  assert.throws(() => parseAgg('sum(count)'), /expected/);
});

test('count, sum, avg, min, max per key and event, printed as bpftrace prints a map (by value, then key)', () => {
  const recs = [rec('p:a', 'cat', 5, 0, { n: 10n }), rec('p:a', 'cat', 5, 1, { n: 30n }), rec('p:a', 'sh', 6, 0, { n: 7n }), rec('p:b', 'sh', 6, 0, { s: 'x' })];
  const run = (t: string) => { const g = new Aggregation(parseAgg(t)); for (const r of recs) g.add(r); return g; };
  assert.equal(run('count by comm').rows(), [{ event: 'p:a', rows: [['sh', 1n], ['cat', 2n]] }, { event: 'p:b', rows: [['sh', 1n]] }]);
  assert.equal(run('sum(n) by comm').rows(), [{ event: 'p:a', rows: [['sh', 7n], ['cat', 40n]] }]);
  assert.equal(run('avg(n) by pid').rows()[0]!.rows, [['6', 7n], ['5', 20n]]);
  assert.equal(run('min(n) by cpu').rows()[0]!.rows, [['0', 7n], ['1', 30n]]);
  assert.equal(run('max(n) by cpu').rows()[0]!.rows, [['0', 10n], ['1', 30n]]);
  assert.equal(run('count by s').rows(), [{ event: 'p:b', rows: [['x', 1n]] }]);
  assert.is(renderAggregation(run('sum(n) by comm')), '@sum(n)[comm] (p:a):\n@[sh]: 7\n@[cat]: 40\n');
  assert.is(renderAggregation(run('sum(zz) by comm')), '@sum(zz)[comm]: no event recorded a value\n');
});

test.run();
