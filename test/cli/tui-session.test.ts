// The TUI's controller without a terminal: each key's operation reaches the stored state as the
// one-liners' would and the running kernel at once, and a run's counts are folded into the state.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Image } from '../../src/elf/image.js';
import { FIXTURE } from '../elf/fixture.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { createTuiSession, type TuiSession } from '../../src/cli/tui-session.js';
import { loadState } from '../../src/cli/state/store.js';
import { freshState } from './run.js';

const image = Image.load(readFileSync(FIXTURE));
const script = parseWorkload('reads.wl', 'f = openat AT_FDCWD "/etc/motd" 0\nb = buf 64\nrepeat 20 { read f b }\nclose f\n');

async function session(dir: string): Promise<TuiSession> {
  return createTuiSession({ image, vmlinux: FIXTURE, dir, script, cpus: 1, seed: 1, maxInsns: 50_000_000, turnMs: 20 });
}
async function finished(s: TuiSession): Promise<void> {
  for (let i = 0; i < 6000 && s.ctl.snapshot().machine.status !== 'finished'; i++) await new Promise((r) => setTimeout(r, 10));
  assert.is(s.ctl.snapshot().machine.status, 'finished', 'the run ends');
}

test('add before the run: stored enabled, armed at boot, hit; the hits fold into kprobe_profile', async () => {
  const dir = freshState();
  const s = await session(dir);
  assert.is(s.ctl.addProbe('vfs_read count=%dx'), undefined);
  assert.ok(loadState(dir, FIXTURE).enabled.includes('probe/vfs_read'), 'stored enabled, as `ktrace add` does');
  s.start();
  await finished(s);
  const row = s.ctl.snapshot().probes.find((p) => p.name === 'probe:vfs_read')!;
  assert.ok(row.enabled);
  assert.ok(row.hits >= 20, `hits ${row.hits}`);
  const d = s.ctl.detail('probe:vfs_read');
  assert.equal(d.fields, ['count']);
  assert.ok(d.lines.length > 0 && d.lines.every((l) => l.includes('vfs_read:')), d.lines.join(''));
  assert.is(d.hist!.total, row.hits, "every hit is in the count histogram");
  s.ctl.quit();
  s.fold();
  const profile = Object.entries(loadState(dir, FIXTURE).profile);
  assert.equal(profile.map(([, v]) => v), [[row.hits, 0]], JSON.stringify(profile));
});

test('disable, the kprobes switch and delete apply to the state and to the running kernel', async () => {
  const dir = freshState();
  const s = await session(dir);
  assert.is(s.ctl.addProbe('vfs_read'), undefined);
  assert.is(s.ctl.addProbe('nosuch_function_xyz')?.startsWith('add: '), true, 'a failed add says why on one line');
  s.start();
  s.ctl.setEnabled('probe:vfs_read', false);
  assert.not.ok(loadState(dir, FIXTURE).enabled.includes('probe/vfs_read'));
  assert.not.ok(s.ctl.snapshot().probes[0]!.enabled);
  s.ctl.toggleKprobes();
  assert.is(loadState(dir, FIXTURE).kprobesEnabled, false);
  assert.is(s.ctl.snapshot().machine.kprobesEnabled, false);
  await finished(s);
  assert.is(s.ctl.snapshot().probes[0]!.hits, 0, 'a disabled event is not hit');
  s.ctl.deleteProbe('probe:vfs_read');
  assert.is(loadState(dir, FIXTURE).kprobeEvents, '');
  assert.equal(s.ctl.snapshot().probes, []);
  s.ctl.quit();
});

test('restart folds the finished run and boots again; Tab completion lists the image functions', async () => {
  const dir = freshState();
  const s = await session(dir);
  s.ctl.addProbe('vfs_read');
  s.start();
  await finished(s);
  const first = s.ctl.snapshot().probes[0]!.hits;
  s.ctl.restart();
  assert.is(s.ctl.snapshot().machine.status, 'running');
  await finished(s);
  assert.is(s.ctl.snapshot().probes[0]!.hits, first, 'the same run again: deterministic');
  s.ctl.quit();
  s.fold();
  assert.equal(Object.values(loadState(dir, FIXTURE).profile), [[2 * first, 0]]);
  assert.ok(s.ctl.complete('vfs_r').includes('vfs_read'));
});

test("an event filter (f): stored as events/GROUP/EVENT/filter is; filtered-out hits count but are not recorded; a bad one is the kernel's error", async () => {
  const dir = freshState();
  const s = await session(dir);
  assert.is(s.ctl.addProbe('vfs_read count=%dx:u64'), undefined);
  assert.match(s.ctl.setEventFilter('probe:vfs_read', 'count >> 1')!, /Invalid value \(did you forget quotes\)\?/);
  assert.is(loadState(dir, FIXTURE).filters!['probe/vfs_read']!.active, false);
  assert.is(s.ctl.setEventFilter('probe:vfs_read', 'count > 64'), undefined);
  assert.equal(loadState(dir, FIXTURE).filters!['probe/vfs_read'], { text: 'count > 64', active: true });
  s.start();
  await finished(s);
  const row = s.ctl.snapshot().probes.find((p) => p.name === 'probe:vfs_read')!;
  assert.ok(row.hits >= 20, `hits ${row.hits}`);
  const d = s.ctl.detail('probe:vfs_read');
  assert.is(d.filter, 'count > 64');
  assert.equal(d.lines, [], 'every read asks for 64 bytes: none passes count > 64');
  assert.is(s.ctl.setEventFilter('probe:vfs_read', ''), undefined);
  assert.is(loadState(dir, FIXTURE).filters?.['probe/vfs_read'], undefined);
  s.ctl.restart();
  await finished(s);
  assert.ok(s.ctl.detail('probe:vfs_read').lines.length > 0, 'cleared: recorded again');
  s.ctl.quit();
});

test("deleting an event that was ever enabled empties the trace, this run's lines included (Linux 6.1's clear_trace)", async () => {
  const dir = freshState();
  const s = await session(dir);
  assert.is(s.ctl.addProbe('vfs_read'), undefined);
  assert.is(s.ctl.addProbe('ksys_read'), undefined);
  s.start();
  await finished(s);
  assert.ok(s.ctl.detail('probe:vfs_read').lines.length > 0);
  s.ctl.deleteProbe('probe:ksys_read');
  assert.equal(s.ctl.detail('probe:vfs_read').lines, []);
  s.ctl.quit();
  s.fold();
  const st = loadState(dir, FIXTURE);
  assert.is(st.trace, '');
  assert.ok(Object.values(st.profile).some(([hits]) => hits > 0), 'the counters are kept (kprobe_profile is not the trace)');
});

test.run();
