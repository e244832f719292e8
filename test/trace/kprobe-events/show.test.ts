import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseKprobeCommand, type ProbeDef, type DeleteSpec } from '../../../src/trace/kprobe-events/probe.js';
import { showKprobeEvents, showKprobeProfile, profileLine, deleteMatches, probePlace } from '../../../src/trace/kprobe-events/show.js';
import { fakeResolver } from './fake.js';

function probe(line: string): ProbeDef {
  const r = parseKprobeCommand(line, fakeResolver);
  if (!r.ok || r.command.kind !== 'create') throw new Error(line);
  return r.command.probe;
}
function del(line: string): DeleteSpec {
  const r = parseKprobeCommand(line, fakeResolver);
  if (!r.ok || r.command.kind !== 'delete') throw new Error(line);
  return r.command.spec;
}

test('kprobe_events listing', () => {
  assert.is(showKprobeEvents([probe('p vfs_read'), probe('r5:g/e vfs_write+0 x=$retval:s32')]),
    'p:kprobes/p_vfs_read_0 vfs_read\nr5:g/e vfs_write x=$retval:s32\n');
  assert.is(showKprobeEvents([]), '');
  assert.is(probePlace(probe('p 0x1000')), '0x0000000000001000');
});

test('kprobe_profile line: "  %-44s %15lu %15lu"', () => {
  assert.is(profileLine('p_vfs_read_0', 12, 0), '  p_vfs_read_0                                              12               0\n');
  assert.is(profileLine('e'.repeat(50), 18446744073709551615n, 1).length, 2 + 50 + 1 + 20 + 1 + 15 + 1);
  const a = probe('p:m vfs_read'), b = probe('p:m vfs_write'), c = probe('r:ret vfs_read');
  const counts = new Map([[a, [3, 0]], [b, [1, 0]], [c, [2, 5]]] as const);
  assert.is(showKprobeProfile([a, b, c], (p) => ({ hits: counts.get(p)![0], misses: counts.get(p)![1] })),
    `  ${'m'.padEnd(44)} ${'3'.padStart(15)} ${'0'.padStart(15)}\n`
    + `  ${'m'.padEnd(44)} ${'1'.padStart(15)} ${'0'.padStart(15)}\n`
    + `  ${'ret'.padEnd(44)} ${'2'.padStart(15)} ${'5'.padStart(15)}\n`);
});

test('delete matching: event, group, group-only, probe point and args', () => {
  const p = probe('p:g/e vfs_read+4 a=%di b=%si');
  assert.ok(deleteMatches(del('-:e'), p));
  assert.ok(deleteMatches(del('-:g/e'), p));
  assert.ok(deleteMatches(del('-:g/'), p));
  assert.not.ok(deleteMatches(del('-:h/e'), p));
  assert.not.ok(deleteMatches(del('-:f'), p));
  assert.ok(deleteMatches(del('-:e vfs_read+4'), p));
  assert.ok(deleteMatches(del('-:e vfs_read+4 a=%di'), p));
  assert.ok(deleteMatches(del('-:e vfs_read+4 a=%di b=%si'), p));
  assert.not.ok(deleteMatches(del('-:e vfs_read+0x4'), p));
  assert.not.ok(deleteMatches(del('-:e vfs_read+4 b=%si'), p));
  assert.not.ok(deleteMatches(del('-:e vfs_read+4 a=%di b=%si c=%dx'), p));
  assert.ok(deleteMatches(del('-:p_0x0000000000001000 0x0000000000001000'), probe('p 0x1000')));
});

test.run();
