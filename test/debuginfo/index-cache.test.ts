// src/debuginfo/index-cache.ts: the debug-info index's payloads (unit headers, names, aranges; a big
// image's file index) round-trip, and a payload that does not describe this very image (another image
// under the same key, truncated, garbage) is refused. The CLI's use of the index (identical answers with
// and without it, rebuilds, concurrent builds, background builds) is test/cli/debug-index.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE } from '../elf/fixture.js';
import { openImage } from '../../src/elf/open.js';
import { Image } from '../../src/elf/image.js';
import { buildIndex, openDwarf } from '../../src/debuginfo/open.js';
import { decodeFileIndex, decodeIndex, encodeFileIndex, encodeIndex, loadIndex, treeStore, TREE_KIND, TREE_MIN_BYTES } from '../../src/debuginfo/index-cache.js';
import { Dwarf } from '../../src/dwarf/index.js';
import { imageLoader } from '../../src/debuginfo/open.js';
import { availableVars, formatAvailableVars, parseProbeSpec } from '../../src/trace/perf-probe/index.js';

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


// ---- big units' decoded trees (treeStore): the fixture's units are small, so the store is made with no
// size floor here.

/** Every unit's columns and a perf query's answer, as a Dwarf with these options sees them. */
function snapshot(img: Image, trees: ReturnType<typeof treeStore>): string {
  const d = new Dwarf(imageLoader(img), trees ? { trees } : {});
  const cols = d.units().map((u) => {
    const out: number[] = [u.count];
    for (let i = 0; i < u.count; i++) out.push(u.tagAt(i), u.endAt(i), u.parentAt(i), u.depthAt(i), u.die(i).offset, u.codeAt(i));
    return out.join(',');
  });
  const spec = parseProbeSpec(['vfs_read']);
  if (!spec.ok) throw new Error(spec.reason);
  const av = availableVars(d, spec.value.point, { symbol: (n) => img.functionNamed(n)?.addr });
  if (!av.ok) throw new Error(av.reason);
  const vars = formatAvailableVars(av.value);
  return JSON.stringify({ cols, vars, names: d.units().map((u) => u.root() && d.name(u.root()!)) });
}

test('a unit tree read back from the store is the walked one; a stale, foreign, tampered or garbage entry is walked again', () => {
  const img = openImage(FIXTURE);
  const env = { ...process.env, XDG_CACHE_HOME: tempDir('ktrace-trees-'), KTRACE_NO_CACHE: '' };
  assert.ok(TREE_MIN_BYTES > 0);
  const reference = snapshot(img, undefined);
  assert.is(snapshot(img, treeStore(FIXTURE, env, 0)), reference, 'walked and saved');
  const dir = join(env.XDG_CACHE_HOME, 'ktrace', TREE_KIND);
  const entries = readdirSync(dir).filter((n) => /\.tree-\d+-2$/.test(n)).sort();
  assert.ok(entries.length >= 2, `one entry per unit (${entries.length})`);
  // A store that only loads (its saves are counted): every unit comes from the cache.
  const counting = (): { store: NonNullable<ReturnType<typeof treeStore>>; saves: () => number } => {
    const inner = treeStore(FIXTURE, env, 0)!;
    let saves = 0;
    return { store: { minBytes: 0, load: inner.load, save: (h, b, t) => { saves++; inner.save(h, b, t); } }, saves: () => saves };
  };
  let c = counting();
  assert.is(snapshot(img, c.store), reference, 'read back');
  assert.is(c.saves(), 0, 'nothing walked');
  // Another unit's entry under this unit's name (the length and CRC-32 of the bytes differ): walked.
  const [a, b] = [join(dir, entries[0]!), join(dir, entries[1]!)];
  copyFileSync(b, a);
  c = counting();
  assert.is(snapshot(img, c.store), reference, 'foreign entry');
  assert.is(c.saves(), 1, 'the foreign entry was walked again and replaced');
  // An entry that passes the checksums but whose tree does not fit the unit (a parent after its child).
  const inner = treeStore(FIXTURE, env, 0)!;
  const d = new Dwarf(imageLoader(img));
  const u = d.units()[0]!;
  const bytes = u.bytes;
  const stored = Buffer.from(inner.load(u.header, bytes)!);
  const n = stored.readUInt32LE(0);
  assert.ok(n === u.count && n > 2, 'the entry holds the unit\'s entries');
  stored.writeInt32LE(2, 4 + 12 * n + 4 * 2); // parent[2] = 2
  inner.save(u.header, bytes, stored);
  c = counting();
  assert.is(snapshot(img, c.store), reference, 'tampered tree');
  assert.is(c.saves(), 1);
  writeFileSync(a, 'garbage');
  assert.is(snapshot(img, treeStore(FIXTURE, env, 0)), reference, 'garbage');
  assert.is(treeStore(FIXTURE, { ...env, KTRACE_NO_CACHE: '1' }), undefined, 'no store without the cache');
});

test.run();
