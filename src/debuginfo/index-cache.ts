// The persistent debug-info index of an image (in the spirit of perf's ~/.debug build-id cache): the
// unit headers of .debug_info and the function name → defining units table, so that a later query
// decodes only the units it needs and walks nothing. Stored through src/cache.ts (keyed by the image's
// build-id, else size/mtime/header hash; written atomically; checksummed). The payload also records the
// image's size and a hash of its section headers, checked on every load: an index that does not
// describe this very file (replaced under a reused build-id, truncated, garbage) is rebuilt, never used.
//
// A small image's index is built in the query that first needs it (a skim of every unit takes
// milliseconds). A large one's skim takes seconds, longer than the query itself: the first query finds
// its units by scanning for the name instead, and the index is built by a background process that
// the CLI starts (openDwarf's `background` option: src/cli/debug-index.ts), one at a time per image.
import { unlinkSync } from 'node:fs';
import { cacheEnabled, cachePath, checksum, imageKey, openCacheReader, readCache, writeCache, type CacheReader } from '../cache.js';
import type { Image } from '../elf/image.js';
import { decodeUnitList, type FunctionNames, type NameTable } from '../dwarf/names.js';
import { HEADER_WORDS, UnitHeaderTable, type TreeStore, type UnitHeader, type UnitHeaderList } from '../dwarf/unit.js';
import type { AddressIndex, FileIndex } from '../dwarf/dwarf.js';
import { FINGERPRINT_LEN, imageFingerprint } from './fingerprint.js';

export interface DebugIndex {
  readonly headers: UnitHeaderList;
  /** Function name → units: a NameTable when built, the cached table read in pages when loaded. */
  readonly names: FunctionNames;
  /** .debug_aranges as address ranges → unit indexes (null: the image has none). */
  readonly aranges: AddressIndex | null;
}

/** The cache kind of the debug-info index (and of the CLI's symbol index beside it). */
export const KIND = 'index';
const MAGIC = 0x4b444934; // 'KDI4'

/** Images whose .debug_info is larger than this get their index built in the background. */
export const BACKGROUND_LIMIT = 16 << 20;

export { FINGERPRINT_LEN, imageFingerprint } from './fingerprint.js';

/** The unit headers and aranges as a payload (the names are an entry of their own: encodeNames). */
export function encodeIndex(image: Image, idx: Pick<DebugIndex, 'headers' | 'aranges'>): Buffer {
  const fp = imageFingerprint(image);
  const hdr = new Float64Array(idx.headers.length * HEADER_WORDS);
  for (let i = 0; i < idx.headers.length; i++) {
    const u = idx.headers.at(i)!;
    hdr.set([u.offset, u.end, u.version, u.unitType, u.addrSize, u.offsetSize, u.abbrevOffset, u.firstDieOffset], i * HEADER_WORDS);
  }
  const a = idx.aranges;
  const ranges = a ? a.low.length : -1;
  const head = Buffer.alloc(16);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(idx.headers.length, 4);
  head.writeUInt32LE(0, 8);
  head.writeInt32LE(ranges, 12);
  const arangeBytes = a ? [Buffer.from(a.low.buffer, a.low.byteOffset, a.low.byteLength), Buffer.from(a.high.buffer, a.high.byteOffset, a.high.byteLength),
    Buffer.from(a.unit.buffer, a.unit.byteOffset, a.unit.byteLength)] : [];
  return Buffer.concat([head, fp, Buffer.from(hdr.buffer), ...arangeBytes]);
}

/** Decodes and checks an index payload (encodeIndex) against the image; undefined when it does not fit. */
export function decodeIndex(image: Image, payload: Buffer, infoSize: number): Pick<DebugIndex, 'headers' | 'aranges'> | undefined {
  try {
    const hdrAt = 16 + FINGERPRINT_LEN;
    if (payload.length < hdrAt || payload.readUInt32LE(0) !== MAGIC) return undefined;
    const count = payload.readUInt32LE(4), namesLen = payload.readUInt32LE(8), ranges = payload.readInt32LE(12);
    if (namesLen !== 0) return undefined;
    if (!payload.subarray(16, hdrAt).equals(imageFingerprint(image))) return undefined;
    const arangesAt = hdrAt + count * HEADER_WORDS * 8;
    const namesAt = arangesAt + Math.max(0, ranges) * 20;
    if (namesAt + namesLen !== payload.length) return undefined;
    const f = new Float64Array(payload.buffer.slice(payload.byteOffset + hdrAt, payload.byteOffset + arangesAt));
    let prevEnd = 0;
    // Only numbers here (a cold process runs it in V8's interpreter, ~2,200 times for a distribution
    // kernel): the header objects are made when a query asks for a unit (UnitHeaderTable).
    for (let j = 0; j < count * HEADER_WORDS; j += HEADER_WORDS) {
      const offset = f[j]!, end = f[j + 1]!, version = f[j + 2]!, addrSize = f[j + 4]!, offsetSize = f[j + 5]!, first = f[j + 7]!;
      // Units tile .debug_info in order; anything else is not an index of this image.
      if (offset !== prevEnd || !(end > offset) || end > infoSize || !(first > offset && first <= end)
        || version < 2 || version > 5 || (addrSize !== 4 && addrSize !== 8) || (offsetSize !== 4 && offsetSize !== 8)) return undefined;
      prevEnd = end;
    }
    const headers = new UnitHeaderTable(f, count);
    if (prevEnd !== infoSize) return undefined;
    let aranges: AddressIndex | null = null;
    if (ranges >= 0) {
      const copy = payload.buffer.slice(payload.byteOffset + arangesAt, payload.byteOffset + namesAt);
      const low = new Float64Array(copy, 0, ranges), high = new Float64Array(copy, ranges * 8, ranges), unit = new Uint32Array(copy, ranges * 16, ranges);
      for (let i = 0; i < ranges; i++) {
        if (unit[i]! >= count || !(high[i]! > low[i]!) || (i > 0 && low[i]! < low[i - 1]!)) return undefined;
      }
      aranges = { low, high, unit };
    }
    return { headers, aranges };
  } catch {
    return undefined;
  }
}

/** The cache entry's name and key for an image file, or undefined when the file cannot be keyed. */
export function entryOf(path: string): { name: string; key: string } | undefined {
  try {
    const key = imageKey(path);
    // The format's version is in the name: two ktrace versions sharing a cache keep an entry each
    // instead of removing each other's (each would find the other's unreadable and rebuild it).
    return { name: `${key}.dwarf-4`, key };
  } catch {
    return undefined;
  }
}

export function loadIndex(image: Image, path: string, infoSize: number, env: NodeJS.ProcessEnv = process.env): DebugIndex | undefined {
  if (!cacheEnabled(env)) return undefined;
  const e = entryOf(path);
  if (!e) return undefined;
  const payload = readCache(KIND, e.name, e.key, env);
  if (!payload) return undefined;
  const idx = decodeIndex(image, payload, infoSize);
  if (!idx) {
    // Checksummed but not this image's (a replaced file under a reused build-id): drop it.
    try { unlinkSync(cachePath(KIND, e.name, env)); } catch { /* already gone */ }
    return undefined;
  }
  // Without its names (pruned, damaged, another image's) the index is incomplete: rebuilt.
  const names = openNames(image, openCacheReader(KIND, namesEntry(e.key), e.key, env), idx.headers.length);
  return names ? { ...idx, names } : undefined;
}

export function saveIndex(image: Image, path: string, idx: { headers: UnitHeaderList; names: NameTable; aranges: AddressIndex | null }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!cacheEnabled(env)) return false;
  const e = entryOf(path);
  if (!e) return false;
  // The names first: an index entry without them is taken as missing.
  return writeCache(KIND, namesEntry(e.key), e.key, encodeNames(image, idx.headers.length, idx.names), env)
    && writeCache(KIND, e.name, e.key, encodeIndex(image, idx), env);
}

// ---------------------------------------------------------------- the names, read in pages

// The function-name table (a distribution kernel's: 71,000 names, 2.2 MB) as pages of PAGE_NAMES names,
// so that a query reads a directory (each page's first name, offset and CRC-32) and the one page its
// name is in, instead of the whole table. Layout: HEAD (magic, unit count, name count, page count,
// directory length, the directory's CRC-32, the image's fingerprint, the CRC-32 of what precedes it),
// the directory (page offsets P+1, page CRC-32s P, first-name offsets P+1, the first names), the pages
// (each name: LEB128 length, UTF-8 bytes, LEB128 list length, the unit list as NameTable stores it).
const NAMES_MAGIC = 0x4b444e31; // 'KDN1'
const PAGE_NAMES = 64;
const NAMES_HEAD = 24 + FINGERPRINT_LEN + 4;
const namesEntry = (key: string) => `${key}.names-1`;

function uleb(n: number, out: number[]): void {
  do { let b = n & 0x7f; n = Math.floor(n / 128); if (n) b |= 0x80; out.push(b); } while (n);
}

export function encodeNames(image: Image, unitCount: number, t: NameTable): Buffer {
  const pages: Buffer[] = [], firsts: Buffer[] = [];
  for (let i = 0; i < t.size; i += PAGE_NAMES) {
    const parts: (Uint8Array | Buffer)[] = [];
    for (let j = i; j < Math.min(t.size, i + PAGE_NAMES); j++) {
      const { name, list } = t.entry(j);
      const a: number[] = [];
      uleb(name.length, a);
      const b: number[] = [];
      uleb(list.length, b);
      parts.push(Buffer.from(a), name, Buffer.from(b), list);
      if (j === i) firsts.push(Buffer.from(name));
    }
    pages.push(Buffer.concat(parts));
  }
  const P = pages.length;
  const dir = Buffer.alloc(4 * (P + 1) + 4 * P + 4 * (P + 1));
  let off = 0, foff = 0;
  for (let k = 0; k < P; k++) {
    dir.writeUInt32LE(off, 4 * k);
    dir.writeUInt32LE(checksum(pages[k]!), 4 * (P + 1) + 4 * k);
    dir.writeUInt32LE(foff, 4 * (P + 1) + 4 * P + 4 * k);
    off += pages[k]!.length; foff += firsts[k]!.length;
  }
  dir.writeUInt32LE(off, 4 * P);
  dir.writeUInt32LE(foff, 4 * (P + 1) + 4 * P + 4 * P);
  const dirAll = Buffer.concat([dir, ...firsts]);
  const head = Buffer.alloc(NAMES_HEAD);
  head.writeUInt32LE(NAMES_MAGIC, 0);
  head.writeUInt32LE(unitCount, 4);
  head.writeUInt32LE(t.size, 8);
  head.writeUInt32LE(P, 12);
  head.writeUInt32LE(dirAll.length, 16);
  head.writeUInt32LE(checksum(dirAll), 20);
  imageFingerprint(image).copy(head, 24);
  head.writeUInt32LE(checksum(head.subarray(0, NAMES_HEAD - 4)), NAMES_HEAD - 4);
  return Buffer.concat([head, dirAll, ...pages]);
}

/**
 * The names of an entry (encodeNames) read in pages, when its head and directory check out for this
 * image and unit count; else undefined (and the entry is removed). A page that does not check out
 * later makes `units` answer undefined (the caller finds the units another way) and removes the entry.
 */
export function openNames(image: Image, r: CacheReader | null, unitCount: number): FunctionNames | undefined {
  if (!r) return undefined;
  try {
    const head = r.read(0, NAMES_HEAD);
    if (head.readUInt32LE(0) !== NAMES_MAGIC || head.readUInt32LE(NAMES_HEAD - 4) !== checksum(head.subarray(0, NAMES_HEAD - 4))) throw new Error('head');
    if (head.readUInt32LE(4) !== unitCount || !head.subarray(24, 24 + FINGERPRINT_LEN).equals(imageFingerprint(image))) throw new Error('another image');
    const count = head.readUInt32LE(8), P = head.readUInt32LE(12), dirLen = head.readUInt32LE(16);
    if (P !== Math.ceil(count / PAGE_NAMES) || dirLen < 12 * P + 8 || NAMES_HEAD + dirLen > r.length) throw new Error('sizes');
    const dir = r.read(NAMES_HEAD, dirLen);
    if (checksum(dir) !== head.readUInt32LE(20)) throw new Error('directory');
    const pagesAt = NAMES_HEAD + dirLen;
    const crcAt = 4 * (P + 1), firstAt = crcAt + 4 * P, firstBytes = firstAt + 4 * (P + 1);
    if (pagesAt + dir.readUInt32LE(4 * P) !== r.length || firstBytes + dir.readUInt32LE(firstAt + 4 * P) !== dirLen) throw new Error('lengths');
    const first = (k: number) => dir.subarray(firstBytes + dir.readUInt32LE(firstAt + 4 * k), firstBytes + dir.readUInt32LE(firstAt + 4 * k + 4));
    return {
      units(name: string): number[] | undefined {
        try {
          const want = Buffer.from(name, 'utf8');
          // The last page whose first name is at most the name.
          let lo = 0, hi = P - 1, k = -1;
          while (lo <= hi) {
            const mid = (lo + hi) >>> 1;
            if (Buffer.compare(first(mid), want) <= 0) { k = mid; lo = mid + 1; } else hi = mid - 1;
          }
          if (k < 0) return [];
          const s = dir.readUInt32LE(4 * k), e = dir.readUInt32LE(4 * k + 4);
          if (!(e >= s)) throw new Error('page bounds');
          const page = r.read(pagesAt + s, e - s);
          if (checksum(page) !== dir.readUInt32LE(crcAt + 4 * k)) throw new Error('page checksum');
          let p = 0;
          const len = (): number => {
            let v = 0, mul = 1, b: number;
            do { if (p >= page.length) throw new Error('truncated page'); b = page[p++]!; v += (b & 0x7f) * mul; mul *= 128; } while (b & 0x80);
            return v;
          };
          while (p < page.length) {
            const n = len(), at = p; p += n;
            const l = len(), listAt = p; p += l;
            if (p > page.length) throw new Error('truncated page');
            if (n === want.length && want.equals(page.subarray(at, at + n))) {
              const units = decodeUnitList(page, listAt, listAt + l);
              if (units.some((u) => !(u < unitCount))) throw new Error('unit index');
              return units;
            }
          }
          return [];
        } catch {
          r.drop();
          return undefined;
        }
      },
    };
  } catch {
    r.drop();
    return undefined;
  }
}

// ---------------------------------------------------------------- the file index (a big image's)

const FILES_MAGIC = 0x4b444632; // 'KDF2'

/** Source path → units whose line tables list it (Dwarf.fileIndex), as a cache payload. */
export function encodeFileIndex(image: Image, unitCount: number, fi: FileIndex): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n, 0); parts.push(b); };
  u32(FILES_MAGIC); parts.push(imageFingerprint(image)); u32(unitCount); u32(fi.paths.length); u32(fi.always.length);
  parts.push(Buffer.from(fi.always.buffer, fi.always.byteOffset, fi.always.byteLength));
  fi.paths.forEach((p, k) => {
    const b = Buffer.from(p, 'utf8'), l = fi.units[k]!;
    u32(b.length); parts.push(b); u32(l.length); parts.push(Buffer.from(l.buffer, l.byteOffset, l.byteLength));
  });
  return Buffer.concat(parts);
}

export function decodeFileIndex(image: Image, payload: Buffer, unitCount: number): FileIndex | undefined {
  try {
    const fpEnd = 4 + FINGERPRINT_LEN;
    if (payload.length < fpEnd + 12 || payload.readUInt32LE(0) !== FILES_MAGIC || !payload.subarray(4, fpEnd).equals(imageFingerprint(image))) return undefined;
    if (payload.readUInt32LE(fpEnd) !== unitCount) return undefined;
    const n = payload.readUInt32LE(fpEnd + 4), na = payload.readUInt32LE(fpEnd + 8);
    let at = fpEnd + 12;
    const list = (len: number): Uint32Array => {
      if (at + 4 * len > payload.length) throw new Error('truncated');
      const l = new Uint32Array(payload.buffer.slice(payload.byteOffset + at, payload.byteOffset + at + 4 * len));
      for (const i of l) if (i >= unitCount) throw new Error('unit index');
      at += 4 * len;
      return l;
    };
    const always = list(na);
    const paths: string[] = [], units: Uint32Array[] = [];
    for (let k = 0; k < n; k++) {
      const len = payload.readUInt32LE(at); at += 4;
      if (at + len > payload.length) return undefined;
      paths.push(payload.toString('utf8', at, at + len)); at += len;
      const c = payload.readUInt32LE(at); at += 4;
      units.push(list(c));
    }
    return at === payload.length ? { paths, units, always } : undefined;
  } catch {
    return undefined;
  }
}

export function loadFileIndex(image: Image, path: string, unitCount: number, env: NodeJS.ProcessEnv = process.env): FileIndex | undefined {
  if (!cacheEnabled(env)) return undefined;
  const e = entryOf(path);
  const payload = e ? readCache(KIND, `${e.key}.files-2`, e.key, env) : null;
  return payload ? decodeFileIndex(image, payload, unitCount) : undefined;
}

export function saveFileIndex(image: Image, path: string, unitCount: number, fi: FileIndex, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!cacheEnabled(env)) return false;
  const e = entryOf(path);
  return e ? writeCache(KIND, `${e.key}.files-2`, e.key, encodeFileIndex(image, unitCount, fi), env) : false;
}

// ---------------------------------------------------------------- big units' decoded trees

const TREE_MAGIC = 0x4b445432; // 'KDT2'
/** The trees' own cache kind: a sweep over many units fills it (~180 MB for every big unit of a
 *  distribution kernel), and pruning it never removes an index. */
export const TREE_KIND = 'trees';
/** Units of at least this many bytes have their decoded trees kept (a smaller one's walk takes a few ms at most). */
export const TREE_MIN_BYTES = 64 << 10;

/**
 * The cache's store of big units' decoded trees (Unit.tree: DwarfOptions.trees), one entry per unit,
 * keyed like the index and named by the unit's offset. An entry records the unit's length and the
 * CRC-32 of its bytes, so it is used only for the very bytes it was walked from; a mismatch is walked
 * again and overwritten. Undefined when the cache is off.
 */
export function treeStore(path: string, env: NodeJS.ProcessEnv = process.env, minBytes = TREE_MIN_BYTES): TreeStore | undefined {
  if (!cacheEnabled(env)) return undefined;
  let e: { name: string; key: string } | undefined | null = null;
  const entry = () => (e === null ? (e = entryOf(path)) : e);
  const name = (key: string, h: UnitHeader) => `${key}.tree-${h.offset}-2`;
  return {
    minBytes,
    load(h, bytes) {
      const en = entry();
      const p = en ? readCache(TREE_KIND, name(en.key, h), en.key, env) : null;
      if (!p || p.length < 12 || p.readUInt32LE(0) !== TREE_MAGIC || p.readUInt32LE(4) !== bytes.length || p.readUInt32LE(8) !== checksum(bytes)) return undefined;
      return p.subarray(12);
    },
    save(h, bytes, tree) {
      const en = entry();
      if (!en) return;
      const head = Buffer.alloc(12);
      head.writeUInt32LE(TREE_MAGIC, 0);
      head.writeUInt32LE(bytes.length, 4);
      head.writeUInt32LE(checksum(bytes), 8);
      writeCache(TREE_KIND, name(en.key, h), en.key, Buffer.concat([head, tree]), env);
    },
  };
}
