// ktrace run --output FILE and ktrace report FILE: a saved run renders the live run's summary and
// tables byte for byte; a text FILE holds the trace the piped run prints; FILE is whole or absent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ktrace, freshState, tempDir } from './run.js';

const dir = tempDir('ktrace-report-');
const st = { KTRACE_STATE: freshState() };
const probes = ['-a', 'vfs_read count=%dx:u64', '-a', 'vfs_read%return $retval'];

test('report FILE prints what the live run printed (summary, hits, per-CPU, return values, histograms)', () => {
  const f = join(dir, 'run.ndjson');
  const live = ktrace(['run', ...probes, '--hist', 'count', '--per-cpu', '--agg', 'sum(count) by comm', '--agg', 'vfs_read__return:max($retval) by pid', '--summary', '--no-timing', '-o', f], st);
  assert.is(live.code, 0, live.stderr);
  assert.match(live.stdout, /recorded events per CPU:\nEVENT +CPU0 +CPU1\n/);
  assert.match(live.stdout, /probe:vfs_read__return returned:/);
  assert.match(live.stdout, /@count\[probe:vfs_read\]:/);
  assert.match(live.stdout, /@sum\(count\)\[comm\] \(probe:vfs_read\):\n@\[init\]: \d+\n/);
  assert.match(live.stdout, /@max\(\$retval\)\[pid\] \(probe:vfs_read__return\):\n/);
  const rep = ktrace(['report', f], st);
  assert.is(rep.code, 0, rep.stderr);
  assert.is(rep.stdout, live.stdout);
  // The file: one event object per recorded event, in time order, then the summary.
  const lines = readFileSync(f, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  const events = lines.filter((o) => o.type === 'event');
  const sum = lines[lines.length - 1];
  assert.is(sum.type, 'summary');
  assert.is(events.length, sum.probes.reduce((n: number, p: { hits: number }) => n + p.hits, 0));
  const ts = events.map((e) => Number(e.ts));
  assert.ok(ts.every((t, i) => i === 0 || t >= ts[i - 1]!), 'events in time order');
  // Per-CPU counts add up to the hits, and both CPUs recorded events on the default workload.
  for (const [ev, c] of Object.entries(sum.perCpu as Record<string, number[]>)) {
    assert.is(c.reduce((a, b) => a + b, 0), sum.probes.find((p: { event: string }) => p.event === ev).hits);
    assert.is(c.length, 2);
  }
  // A histogram the run was not recorded with, and --per-cpu, from the saved events.
  const more = ktrace(['report', f, '--hist', '$retval', '--no-console'], st);
  assert.is(more.code, 0, more.stderr);
  assert.match(more.stdout, /@\$retval\[probe:vfs_read__return\]:\n/);
  assert.not.match(more.stdout, /console:/);
  assert.is(ktrace(['report', f, '--hist', 'nope'], st).code, 2);
  // an aggregation the run was not recorded with: the same numbers a live run gives
  const agg = ktrace(['report', f, '--agg', 'count by cpu', '--no-console'], st);
  const sumCpu = [...agg.stdout.matchAll(/^@\[(\d)\]: (\d+)$/gm)];
  assert.ok(sumCpu.length >= 2, agg.stdout);
  assert.match(ktrace(['run', ...probes, '--agg', 'nope by comm'], st).stderr, /--agg nope by comm: expected/);
  assert.match(ktrace(['run', ...probes, '--agg', 'sum(nope) by comm'], st).stderr, /no selected event has a numeric 'nope'/);
});

test('--output FILE.trace: the trace text a piped run prints; stdout gets the summary', () => {
  const f = join(dir, 'run.trace');
  const r = ktrace(['run', 'cat', '-a', 'vfs_read', '--no-timing', '-o', f], st);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^workload \S*cat\S* on 2 CPUs/);
  const piped = ktrace(['run', 'cat', '-a', 'vfs_read'], st);
  assert.is(readFileSync(f, 'utf8'), piped.stdout);
  assert.match(piped.stdout, /vfs_read: \(vfs_read\+0x0\//);
  const rep = ktrace(['report', f], st);
  assert.is(rep.code, 1);
  assert.match(rep.stderr, /^ktrace: report: .*run\.trace: not a saved run \(NDJSON\)/);
});

test('--output is whole or absent: a bad directory fails before the boot, a failed write leaves FILE as it was', () => {
  const r = ktrace(['run', 'cat', '-a', 'vfs_read', '-o', join(dir, 'no', 'such', 'x.json')], st);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^ktrace: run: --output .*x\.json: No such file or directory\n$/);
  // A run the CLI refuses after the file was opened (a --hist no event has): the old FILE stays, no temporary file.
  const f = join(dir, 'keep.ndjson');
  writeFileSync(f, 'old\n');
  const bad = ktrace(['run', 'cat', '-a', 'vfs_read', '--hist', 'nope', '-o', f], st);
  assert.is(bad.code, 2);
  assert.is(readFileSync(f, 'utf8'), 'old\n');
  assert.equal(readdirSync(dir).filter((n) => n.includes('.tmp-')), []);
});

test('report errors: missing file, truncated record, directory', () => {
  let r = ktrace(['report', join(dir, 'missing.ndjson')], st);
  assert.is(r.code, 1);
  assert.match(r.stderr, /missing\.ndjson: No such file or directory\n$/);
  const cut = join(dir, 'cut.ndjson');
  writeFileSync(cut, '{"type":"event","event":"probe:vfs_read","cpu":0,"ts":"0.000100","args":{}}\n');
  r = ktrace(['report', cut], st);
  assert.is(r.code, 1);
  assert.match(r.stderr, /no summary object at the end/);
  r = ktrace(['report', dir], st);
  assert.is(r.code, 1);
  assert.match(r.stderr, /Is a directory/);
  assert.ok(!existsSync(join(dir, 'x.json')));
});

test('--json: --no-console leaves the console out of the summary; --trace lines are in time order', () => {
  const j = ktrace(['run', '-a', 'vfs_read', '--json', '--no-console', '--no-timing'], st);
  const sum = JSON.parse(j.stdout.trimEnd().split('\n').pop()!);
  assert.is(sum.type, 'summary');
  assert.not.ok('console' in sum);
  assert.ok('console' in JSON.parse(ktrace(['run', 'cat', '--json', '--no-timing'], st).stdout));
  const t = ktrace(['run', '-a', 'vfs_read', '--trace', '--no-timing'], st);
  const ts = t.stdout.split('\n').filter(Boolean).map((l) => Number(/ (\d+\.\d+): /.exec(l)![1]));
  assert.ok(ts.length > 10 && ts.every((x, i) => i === 0 || x >= ts[i - 1]!));
  assert.ok(t.stdout.includes('[001]') && t.stdout.includes('[000]'), 'both CPUs');
});

test.run();
