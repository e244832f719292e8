// src/debuginfo/index-cache.ts: the debug-info index's payloads (unit headers, names, aranges; a big
// image's file index) round-trip, and a payload that does not describe this very image (another image
// under the same key, truncated, garbage) is refused. The CLI's use of the index (identical answers with
// and without it, rebuilds, concurrent builds, background builds) is test/cli/debug-index.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE } from '../elf/fixture.js';
import { openImage } from '../../src/elf/open.js';
import { Image } from '../../src/elf/image.js';
import { buildIndex, openDwarf } from '../../src/debuginfo/open.js';
import { decodeFileIndex, decodeIndex, encodeFileIndex, encodeIndex, loadIndex } from '../../src/debuginfo/index-cache.js';

const made: string[] = [];
process.on('exit', () => { for (const d of made) rmSync(d, { recursive: true, force: true }); });
function tempDir(prefix: string): string { const d = mkdtempSync(join(tmpdir(), prefix)); made.push(d); return d; }

test('an index with a valid checksum that describes another image is refused', () => {
  const img = openImage(FIXTURE);
  const idx = buildIndex(img, FIXTURE);
  const bytes = encodeIndex(img, idx);
  assert.ok(decodeIndex(img, bytes, img.sectionByName('.debug_info')!.size));
  // The same build-id, other content: a copy of the fixture with one byte of .debug_str changed.
  const dir = tempDir('ktrace-img-');
  const copy = join(dir, 'vmlinux');
  copyFileSync(FIXTURE, copy);
  const b = readFileSync(copy);
  const str = img.sectionByName('.debug_str')!;
  b[str.offset + 1] ^= 0x20;
  writeFileSync(copy, b);
  const other = openImage(copy);
  assert.is(decodeIndex(other, bytes, other.sectionByName('.debug_info')!.size), undefined, 'fingerprint differs');
  // Written under the copy's key (what a replaced file under a reused build-id would find): not used, and removed.
  const cache = tempDir('ktrace-cache-');
  const env = { ...process.env, XDG_CACHE_HOME: cache };
  assert.is(loadIndex(other, copy, other.sectionByName('.debug_info')!.size, env), undefined);
  assert.is(decodeIndex(img, Buffer.from(bytes).subarray(0, 40), 1), undefined);
});

test('the file index and the aranges round-trip; another image, a truncated or a garbage payload is refused', () => {
  const img = openImage(FIXTURE);
  const idx = buildIndex(img, FIXTURE);
  assert.ok(idx.aranges && idx.aranges.low.length > 0, 'the fixture has .debug_aranges');
  const back = decodeIndex(img, encodeIndex(img, idx), img.sectionByName('.debug_info')!.size)!;
  assert.equal(Array.from(back.aranges!.low), Array.from(idx.aranges!.low));
  assert.equal(Array.from(back.aranges!.unit), Array.from(idx.aranges!.unit));
  const d = openDwarf(img, FIXTURE).dwarf, fi = d.fileIndex(), n = idx.headers.length;
  const bytes = encodeFileIndex(img, n, fi);
  const got = decodeFileIndex(img, bytes, n)!;
  assert.equal(got.paths, fi.paths);
  assert.equal(got.units.map((u) => Array.from(u)), fi.units.map((u) => Array.from(u)));
  assert.is(decodeFileIndex(img, bytes.subarray(0, bytes.length - 2), n), undefined, 'truncated');
  assert.is(decodeFileIndex(img, bytes, n - 1), undefined, 'another unit count');
  assert.is(decodeFileIndex(img, Buffer.alloc(100, 7), n), undefined, 'garbage');
  const copy = Buffer.from(readFileSync(FIXTURE));
  const str = img.sectionByName('.debug_str')!;
  copy[str.offset + 1] ^= 0x20;
  assert.is(decodeFileIndex(Image.load(new Uint8Array(copy)), bytes, n), undefined, 'another image');
});

test.run();
