import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { foldRun, selectEvents, TRACE_KEEP_LINES } from '../../src/cli/run-probes.js';
import { loadTracing } from '../../src/cli/tracing.js';
import { fixtureImage } from '../elf/fixture.js';
import { emptyTraceState } from '../../src/trace/runtime/state.js';
import { showProbe, type ProbeDef } from '../../src/trace/kprobe-events/index.js';
import { STATE_VERSION } from '../../src/cli/state/store.js';

const probe = (event: string): ProbeDef => ({ type: 'p', group: 'kprobes', event, symbol: 'vfs_read', offset: 0, maxactive: 0, args: [], flags: {} as ProbeDef['flags'], argv: [] });

test('foldRun adds counters of stored events only, appends trace lines, advances the clock', () => {
  const s = { version: STATE_VERSION, ...emptyTraceState(), kprobeEvents: 'p:kprobes/a vfs_read\n', profile: { 'p:kprobes/a vfs_read': [2, 1] as [number, number] }, trace: 'old\n', traceEntries: 1, traceWritten: 1 };
  const f = foldRun(s, [{ probe: probe('a'), hits: 3, misses: 0 }, { probe: probe('tmp'), hits: 9, misses: 0 }], ['l1\n', 'l2\n'], 4, 1000, showProbe);
  assert.equal(f.profile, { 'p:kprobes/a vfs_read': [5, 1] });
  assert.is(f.trace, 'old\nl1\nl2\n');
  assert.is(f.traceEntries, 3);
  assert.is(f.traceWritten, 3);
  assert.is(f.cpus, 4);
  assert.is(f.clockNs, '1000');
});

test('the stored trace buffer keeps the newest lines, like an overwriting ring buffer', () => {
  const s = { version: STATE_VERSION, ...emptyTraceState() };
  const lines = Array.from({ length: TRACE_KEEP_LINES + 5 }, (_, i) => `l${i}\n`);
  const f = foldRun(s, [], lines, 2, 0, showProbe);
  assert.is(f.traceEntries, TRACE_KEEP_LINES);
  assert.is(f.traceWritten, TRACE_KEEP_LINES + 5);
  assert.ok(f.trace.startsWith('l5\n'));
  assert.ok(f.trace.endsWith(`l${TRACE_KEEP_LINES + 4}\n`));
});

test('a stored event the kernel refuses (saved before add checked it) fails the run with why, never silently dropped', async () => {
  const t = await loadTracing({ canProbe: true });
  const s = { version: STATE_VERSION, ...emptyTraceState(), kprobeEvents: 'p:probe/vfs_read vfs_read\np:probe/do_idle do_idle+49\n' };
  let msg = '';
  try { await selectEvents(t, fixtureImage(), s, [], []); } catch (e) { msg = (e as Error).message; }
  assert.is(msg, "run: the stored event 'p:probe/do_idle do_idle+49' cannot be registered on this kernel (-95: do_idle+0x31/0xa0: hlt cannot be executed out of line); remove it with `ktrace del`");
  const ok = await selectEvents(t, fixtureImage(), { ...s, kprobeEvents: 'p:probe/vfs_read vfs_read\n' }, [], []);
  assert.equal(ok.selected, ['probe/vfs_read']);
});

test.run();
