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
import { decodeFileIndex, decodeIndex, encodeFileIndex, encodeIndex, entryOf, KIND, loadIndex, saveIndex, treeStore, TREE_KIND, TREE_MIN_BYTES } from '../../src/debuginfo/index-cache.js';
import { NameTable } from '../../src/dwarf/names.js';
import { cachePath } from '../../src/cache.js';
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

test('the names read back in pages answer as the built table for every name and for names it lacks; a damaged page is passed over and the entry removed', () => {
  const img = openImage(FIXTURE);
  const built = buildIndex(img, FIXTURE);
  const table = built.names as NameTable;
  // A table of many pages (the fixture's own has fewer names than a page): its names and made-up ones.
  const map = new Map<string, number[]>();
  for (let i = 0; i < table.size; i++) { const e = table.entry(i); map.set(Buffer.from(e.name).toString('utf8'), table.units(Buffer.from(e.name).toString('utf8'))!); }
  const n = built.headers.length;
  for (let i = 0; i < 300; i++) map.set(`fn_${(i * 7919 % 1000).toString(36)}_${i}`, [i % n, (i * 3) % n].sort((a, b) => a - b));
  map.set('ünïcode_name', [0]);
  const big = NameTable.build(map);
  const env = { ...process.env, XDG_CACHE_HOME: tempDir('ktrace-names-'), KTRACE_NO_CACHE: '' };
  assert.ok(saveIndex(img, FIXTURE, { headers: built.headers, names: big, aranges: built.aranges }, env));
  const info = img.sectionByName('.debug_info')!.size;
  const loaded = loadIndex(img, FIXTURE, info, env)!;
  assert.ok(loaded, 'loaded');
  const probes = [...map.keys(), '', 'a', 'zzzz', '~', 'fn_', 'fn_0_00', 'vfs_read_', '\u0000'];
  for (const name of probes) assert.equal(loaded.names.units(name), big.units(name), name);
  // One page's bytes changed (its checksum no longer matches): the lookup cannot tell, and the entry goes.
  const e = entryOf(FIXTURE)!;
  const file = cachePath(KIND, `${e.key}.names-1`, env);
  const bytes = readFileSync(file);
  bytes[bytes.length - 3] ^= 0x41;
  writeFileSync(file, bytes);
  const damaged = loadIndex(img, FIXTURE, info, env)!;
  const last = [...map.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).pop()!;
  assert.is(damaged.names.units(last), undefined, 'a damaged page');
  assert.not.ok(readdirSync(join(env.XDG_CACHE_HOME, 'ktrace', KIND)).includes(`${e.key}.names-1`), 'removed');
  assert.is(loadIndex(img, FIXTURE, info, env), undefined, 'an index without its names is missing');
  // A Dwarf given the damaged table finds the units by a scan: the same answer as without any table.
  assert.ok(saveIndex(img, FIXTURE, { headers: built.headers, names: table, aranges: built.aranges }, env));
  const again = readFileSync(file);
  writeFileSync(file, again.fill(0x55, again.length - 8));
  const broken = loadIndex(img, FIXTURE, info, env)!;
  const withBroken = new Dwarf(imageLoader(img), { names: () => broken.names, skimAllLimit: 0 });
  const plain = new Dwarf(imageLoader(img), { skimAllLimit: 0 });
  for (const name of ['vfs_read', 'do_sys_openat2', 'no_such_function']) {
    assert.equal(withBroken.unitsDefining(name).map((u) => u.header.offset), plain.unitsDefining(name).map((u) => u.header.offset), name);
  }
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
