// src/debuginfo/open.ts: the DWARF of a loaded image, the source files its paths name, and the one-line
// DebugInfoErrors (no debug info, malformed debug info, a missing source file).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE, fixtureImage } from '../elf/fixture.js';
import type { Image } from '../../src/elf/image.js';
import { DwarfError } from '../../src/dwarf/index.js';
import { DebugInfoError, displayPath, hasDebugInfo, openDwarf, readSourceLines, realSourcePath, sourcePath, withDwarf } from '../../src/debuginfo/open.js';
import { findLineRange, parseLineRange } from '../../src/trace/perf-probe/line-range.js';

const tmp = mkdtempSync(join(tmpdir(), 'ktrace-debuginfo-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

function thrown(f: () => unknown): DebugInfoError {
  try { f(); } catch (e) { assert.instance(e, DebugInfoError); return e as DebugInfoError; }
  throw new Error('expected a DebugInfoError');
}

/** The source file of the fixture's vfs_read, as its DWARF names it. */
function vfsReadPath(info: ReturnType<typeof openDwarf>): string {
  const p = parseLineRange('vfs_read');
  assert.ok(p.ok);
  const lr = findLineRange(info.dwarf, p.ok ? p.spec : (null as never));
  if ('error' in lr) throw new Error(lr.error);
  return lr.path;
}

test('the fixture: its DWARF, and its sources read relative to the vmlinux', () => {
  const img = fixtureImage();
  assert.ok(hasDebugInfo(img));
  const info = openDwarf(img, FIXTURE);
  const path = vfsReadPath(info);
  const lines = readSourceLines(info, path);
  assert.equal(lines, readFileSync(sourcePath(info, path), 'utf8').replace(/\n$/, '').split('\n'));
  assert.ok(lines.some((l) => /\bvfs_read\b/.test(l)), 'the file defines vfs_read');
});

test('no debug info, malformed debug info, a missing source: one-line DebugInfoErrors', () => {
  const none = { sectionByName: () => undefined } as unknown as Image;
  assert.not.ok(hasDebugInfo(none));
  assert.is(thrown(() => openDwarf(none, '/x/vmlinux')).message, '/x/vmlinux: no debug info (no .debug_info section): build the kernel with CONFIG_DEBUG_INFO');
  assert.is(thrown(() => withDwarf('/x/vmlinux', () => { throw new DwarfError('.debug_info', 12, 'bad abbrev'); })).message.split('\n').length, 1);
  assert.match(thrown(() => withDwarf('/x/vmlinux', () => { throw new DwarfError('.debug_info', 12, 'bad abbrev'); })).message, /^\/x\/vmlinux: bad debug info: .*bad abbrev/);
  assert.is(withDwarf('/x/vmlinux', () => 7), 7);
  const info = { ...openDwarf(fixtureImage(), FIXTURE), sourceRoot: '/nonexistent' };
  const path = vfsReadPath(info);
  assert.is(thrown(() => readSourceLines(info, path)).message, `source file ${displayPath(path)} not found (looked for ${sourcePath(info, path)}; give the source tree with -s DIR)`);
  assert.ok(sourcePath(info, path).startsWith('/nonexistent/'));
  assert.is(thrown(() => readSourceLines({ ...info, sourcePrefix: tmp }, path)).message, `source file ${displayPath(path)} not found under ${tmp} (-s)`);
});

test('-s DIR: perf drops leading directories until the file is found', () => {
  mkdirSync(join(tmp, 'fs'), { recursive: true });
  writeFileSync(join(tmp, 'fs', 'read_write.c'), 'x\n');
  assert.is(realSourcePath(tmp, 'debian/build/fs/read_write.c'), join(tmp, 'fs', 'read_write.c'));
  assert.is(realSourcePath(tmp, 'fs/read_write.c'), join(tmp, 'fs', 'read_write.c'));
  assert.is(realSourcePath(tmp, 'debian/build/fs/missing.c'), undefined);
});

test.run();
