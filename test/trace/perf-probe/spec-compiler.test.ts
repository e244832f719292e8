// src/trace/perf-probe/spec-compiler.ts: perf probe's debuginfo path as `add` takes a spec. A raw
// kprobe_events line is left to the kernel; an inlined copy inside a blacklisted (NOKPROBE) function is
// skipped with perf's warning on a running kernel and listed offline; a clash is one DebugInfoError.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURE, fixtureImage } from '../../elf/fixture.js';
import { DebugInfoError, openDwarf } from '../../../src/debuginfo/open.js';
import { perfSpecLines, specCompiler, type SpecOptions } from '../../../src/trace/perf-probe/spec-compiler.js';
import type { Image } from '../../../src/elf/image.js';

const opts = (o: Partial<SpecOptions> = {}): SpecOptions => ({ taken: () => false, force: false, command: 'add', quiet: true, ...o });
/** The address a kprobe_events line probes (FUNC+OFFS). */
const addrOf = (img: Image, line: string) => { const [fn, off] = line.split(' ')[1]!.split('+'); return img.functionNamed(fn!)!.addr + Number(off ?? 0); };

test('a raw kprobe_events line is the kernel\'s (undefined); a perf spec compiles; no debug info: no compiler', () => {
  const c = specCompiler(fixtureImage(), FIXTURE)!;
  assert.is(c(['p:x', 'vfs_read'], opts()), undefined);
  assert.equal(c(['vfs_read'], opts()), ['p:probe/vfs_read vfs_read+0']);
  assert.is(specCompiler({ sectionByName: () => undefined } as unknown as Image, '/x/vmlinux'), undefined);
});

test('an inlined copy in a blacklisted function: skipped on the running kernel, listed offline', () => {
  const img = fixtureImage(), info = openDwarf(img, FIXTURE);
  const all = perfSpecLines(info, img, FIXTURE, ['tick_handle_periodic'], opts({ offline: true }));
  const blacklisted = all.filter((l) => img.inKprobeBlacklist(addrOf(img, l)));
  assert.ok(blacklisted.length > 0 && blacklisted.length < all.length, `a blacklisted copy among ${all.join(' | ')}`);
  assert.equal(perfSpecLines(info, img, FIXTURE, ['tick_handle_periodic'], opts()), all.filter((l) => !blacklisted.includes(l)));
});

test('a taken event name: one DebugInfoError with the hint; with force, the next name', () => {
  const img = fixtureImage(), info = openDwarf(img, FIXTURE);
  const taken = (g: string, e: string) => g === 'probe' && e === 'vfs_read';
  let err: unknown;
  try { perfSpecLines(info, img, FIXTURE, ['vfs_read'], opts({ taken })); } catch (e) { err = e; }
  assert.instance(err, DebugInfoError);
  assert.is((err as Error).message, 'add: event "probe:vfs_read" already exists.\n  Hint: remove it with `ktrace del probe:vfs_read`, or add a duplicate with -f (force).');
  assert.equal(perfSpecLines(info, img, FIXTURE, ['vfs_read'], opts({ taken, force: true })), ['p:probe/vfs_read_1 vfs_read+0']);
});

test.run();
