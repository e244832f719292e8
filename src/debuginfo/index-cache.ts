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
import { cacheEnabled, cachePath, checksum, imageKey, readCache, writeCache } from '../cache.js';
import type { Image } from '../elf/image.js';
import { NameTable } from '../dwarf/names.js';
import type { TreeStore, UnitHeader } from '../dwarf/unit.js';
import type { AddressIndex, FileIndex } from '../dwarf/dwarf.js';
import { infoOffset } from '../dwarf/offsets.js';

export interface DebugIndex {
  readonly headers: UnitHeader[];
  readonly names: NameTable;
  /** .debug_aranges as address ranges → unit indexes (null: the image has none). */
  readonly aranges: AddressIndex | null;
}

/** The cache kind of the debug-info index (and of the CLI's symbol index beside it). */
export const KIND = 'index';
const MAGIC = 0x4b444933; // 'KDI3'
const HEADER_WORDS = 8;

/** Images whose .debug_info is larger than this get their index built in the background. */
export const BACKGROUND_LIMIT = 16 << 20;

/** Bytes sampled at each end of every debug section for the fingerprint. */
const SAMPLE = 4096;

/** The length of imageFingerprint's value. */
export const FINGERPRINT_LEN = 16;

/**
 * What identifies the image's content beyond its cache key: its size, its section headers, and the
 * first and last 4 KiB of every .debug_* section (a few small reads): an edited or replaced file that
 * kept its build-id still gets a new index. FINGERPRINT_LEN bytes: the size, then CRC-32s of the
 * section headers and of the samples.
 */
export function imageFingerprint(image: Image, sampled: (name: string) => boolean = (n) => n.startsWith('.debug_')): Buffer {
  const out = Buffer.alloc(FINGERPRINT_LEN);
  out.writeDoubleLE(image.source.size, 0);
  out.writeUInt32LE(checksum(JSON.stringify(image.sections.map((s) => [s.name, s.type, s.offset, s.size, s.addrBig.toString(16)]))), 8);
  let sum = 0;
  for (const s of image.sections) {
    if (!sampled(s.name) || s.type === 8 || s.size === 0) continue;
    const n = Math.min(SAMPLE, s.size);
    sum = checksum(s.slice(0, n), sum);
    sum = checksum(s.slice(s.size - n, n), sum);
  }
  out.writeUInt32LE(sum, 12);
  return out;
}

export function encodeIndex(image: Image, idx: DebugIndex): Buffer {
  const fp = imageFingerprint(image);
  const hdr = new Float64Array(idx.headers.length * HEADER_WORDS);
  idx.headers.forEach((u, i) => {
    hdr.set([u.offset, u.end, u.version, u.unitType, u.addrSize, u.offsetSize, u.abbrevOffset, u.firstDieOffset], i * HEADER_WORDS);
  });
  const a = idx.aranges;
  const ranges = a ? a.low.length : -1;
  const head = Buffer.alloc(16);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(idx.headers.length, 4);
  head.writeUInt32LE(idx.names.bytes.length, 8);
  head.writeInt32LE(ranges, 12);
  const arangeBytes = a ? [Buffer.from(a.low.buffer, a.low.byteOffset, a.low.byteLength), Buffer.from(a.high.buffer, a.high.byteOffset, a.high.byteLength),
    Buffer.from(a.unit.buffer, a.unit.byteOffset, a.unit.byteLength)] : [];
  return Buffer.concat([head, fp, Buffer.from(hdr.buffer), ...arangeBytes, idx.names.bytes]);
}

/** Decodes and checks an index payload against the image; undefined when it does not fit. */
export function decodeIndex(image: Image, payload: Buffer, infoSize: number): DebugIndex | undefined {
  try {
    const hdrAt = 16 + FINGERPRINT_LEN;
    if (payload.length < hdrAt || payload.readUInt32LE(0) !== MAGIC) return undefined;
    const count = payload.readUInt32LE(4), namesLen = payload.readUInt32LE(8), ranges = payload.readInt32LE(12);
    if (!payload.subarray(16, hdrAt).equals(imageFingerprint(image))) return undefined;
    const arangesAt = hdrAt + count * HEADER_WORDS * 8;
    const namesAt = arangesAt + Math.max(0, ranges) * 20;
    if (namesAt + namesLen !== payload.length) return undefined;
    const f = new Float64Array(payload.buffer.slice(payload.byteOffset + hdrAt, payload.byteOffset + arangesAt));
    const headers: UnitHeader[] = [];
    let prevEnd = 0;
    // A plain loop over the words (a cold process runs it in V8's interpreter, ~2,700 times for a distribution kernel).
    for (let i = 0, j = 0; i < count; i++, j += HEADER_WORDS) {
      const offset = f[j]!, end = f[j + 1]!, version = f[j + 2]!, addrSize = f[j + 4]!, offsetSize = f[j + 5]!, first = f[j + 7]!;
      // Units tile .debug_info in order; anything else is not an index of this image.
      if (offset !== prevEnd || !(end > offset) || end > infoSize || !(first > offset && first <= end)
        || version < 2 || version > 5 || (addrSize !== 4 && addrSize !== 8) || (offsetSize !== 4 && offsetSize !== 8)) return undefined;
      prevEnd = end;
      headers.push({ offset: infoOffset(offset), end, version, unitType: f[j + 3]!, addrSize, offsetSize: offsetSize === 8 ? 8 : 4, abbrevOffset: f[j + 6]!, firstDieOffset: first });
    }
    if (prevEnd !== infoSize) return undefined;
    const names = new NameTable(payload.subarray(namesAt));
    let aranges: AddressIndex | null = null;
    if (ranges >= 0) {
      const copy = payload.buffer.slice(payload.byteOffset + arangesAt, payload.byteOffset + namesAt);
      const low = new Float64Array(copy, 0, ranges), high = new Float64Array(copy, ranges * 8, ranges), unit = new Uint32Array(copy, ranges * 16, ranges);
      for (let i = 0; i < ranges; i++) {
        if (unit[i]! >= count || !(high[i]! > low[i]!) || (i > 0 && low[i]! < low[i - 1]!)) return undefined;
      }
      aranges = { low, high, unit };
    }
    return { headers, names, aranges };
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
    return { name: `${key}.dwarf-3`, key };
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
  }
  return idx;
}

export function saveIndex(image: Image, path: string, idx: DebugIndex, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!cacheEnabled(env)) return false;
  const e = entryOf(path);
  if (!e) return false;
  return writeCache(KIND, e.name, e.key, encodeIndex(image, idx), env);
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
