// The cross-run cache: indexes of images, boot snapshots, expanded bundled kernels.
// It lives in $XDG_CACHE_HOME/ktrace (else ~/.cache/ktrace). Every entry is keyed by what it was
// built from, carries a header that names that key and a CRC-32 of its payload, is written to a
// temporary file and renamed into place (two processes building the same entry cannot corrupt it),
// and is validated on every read: a corrupt, truncated or stale entry reads as absent, so the caller
// rebuilds it. A cache may only make ktrace faster, never change a result; KTRACE_NO_CACHE=1 turns it
// off (tests compare the two).
import { closeSync, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createHash } from './base/crypto.js';

/** Bumped when any cached format changes; part of every entry's key. */
export const CACHE_FORMAT = 1;

// An entry's header: MAGIC, the length of a JSON object naming its kind, key, format and payload length,
// that object, then a check of the payload. KTRACEC2 entries (written now) check it with a CRC-32:
// entries guard against truncation, torn writes and stray bytes, not against an adversary, and zlib's
// CRC-32 is about 5 ms cheaper to a short process than node:crypto's SHA-256 (loading the module,
// OpenSSL's set-up). KTRACEC1 entries (earlier ktrace builds) carry a SHA-256 and are still read.
const MAGIC = Buffer.from('KTRACEC2');
const MAGIC_SHA = Buffer.from('KTRACEC1');
const SUM_LEN = 4, SHA_LEN = 32;

type Crc32 = (data: Uint8Array | string, seed: number) => number;
let crc32: Crc32 | undefined;

/**
 * zlib's CRC-32 (native). Taken from Node's zlib binding, which node:zlib's crc32 calls after checking
 * its arguments: loading node:zlib loads Node's whole stream implementation (~20 modules, ~8 ms of a
 * warm static query that otherwise needs none of it). node:zlib's own crc32 where the binding is not
 * there or not that function, and under --pending-deprecation (which makes process.binding warn).
 */
function loadCrc32(): Crc32 {
  const pending = process.execArgv.some((a) => a.startsWith('--pending-deprecation')) || (process.env.NODE_OPTIONS ?? '').includes('--pending-deprecation')
    || process.env.NODE_PENDING_DEPRECATION === '1';
  if (!pending) {
    try {
      const f = (process as unknown as { binding(name: string): { crc32?: Crc32 } }).binding('zlib').crc32;
      // 0x352441c2: the CRC-32 of 'abc' (zlib's polynomial); anything else is not zlib's crc32.
      if (typeof f === 'function' && f(Buffer.from('abc'), 0) === 0x352441c2 && f('abc', 0) === 0x352441c2) return f;
    } catch { /* no such binding */ }
  }
  return (createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib')).crc32;
}

/** The CRC-32 of bytes or of a string's UTF-8 (zlib's: cheap to load, and native). */
export function checksum(data: Uint8Array | string, seed = 0): number {
  return (crc32 ??= loadCrc32())(data, seed);
}

export function cacheEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return !env.KTRACE_NO_CACHE || env.KTRACE_NO_CACHE === '0';
}

/** $XDG_CACHE_HOME/ktrace, else ~/.cache/ktrace (a relative $XDG_CACHE_HOME is ignored, per the spec). */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && xdg.startsWith('/')) return join(xdg, 'ktrace');
  // os.homedir() is the process's $HOME when set (libuv's uv_os_homedir): node:os is loaded only when it is not.
  const home = process.env.HOME || (createRequire(import.meta.url)('node:os') as typeof import('node:os')).homedir();
  return join(home, '.cache', 'ktrace');
}

/** The path of an entry: ROOT/KIND/NAME (kind: 'index', 'snapshot', 'kernel', ...). */
export function cachePath(kind: string, name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), kind, name);
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, b, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got === len ? b : b.subarray(0, got);
}

/** The GNU build-id of an ELF64 little-endian file, read from its PT_NOTE segments (or section
 *  notes), without reading the whole file; null when it has none or is no such ELF. */
export function buildId(fd: number): string | null {
  const h = readAt(fd, 0, 64);
  if (h.length < 64 || h.readUInt32BE(0) !== 0x7f454c46 || h[4] !== 2 || h[5] !== 1) return null;
  const notes: Array<[number, number]> = [];
  const phoff = Number(h.readBigUInt64LE(32)), phentsize = h.readUInt16LE(54), phnum = h.readUInt16LE(56);
  if (phentsize >= 56 && phnum > 0 && phnum < 4096) {
    const ph = readAt(fd, phoff, phentsize * phnum);
    for (let i = 0; i + 56 <= ph.length; i += phentsize) {
      if (ph.readUInt32LE(i) === 4) notes.push([Number(ph.readBigUInt64LE(i + 8)), Number(ph.readBigUInt64LE(i + 32))]);
    }
  }
  const shoff = Number(h.readBigUInt64LE(40)), shentsize = h.readUInt16LE(58), shnum = h.readUInt16LE(60);
  if (notes.length === 0 && shentsize >= 64 && shnum > 0 && shnum < 65536) {
    const sh = readAt(fd, shoff, shentsize * shnum);
    for (let i = 0; i + 64 <= sh.length; i += shentsize) {
      if (sh.readUInt32LE(i + 4) === 7) notes.push([Number(sh.readBigUInt64LE(i + 24)), Number(sh.readBigUInt64LE(i + 32))]);
    }
  }
  for (const [off, size] of notes) {
    if (size <= 0 || size > 1 << 16) continue;
    const n = readAt(fd, off, size);
    for (let p = 0; p + 12 <= n.length;) {
      const namesz = n.readUInt32LE(p), descsz = n.readUInt32LE(p + 4), type = n.readUInt32LE(p + 8);
      const name = p + 12, desc = name + ((namesz + 3) & ~3);
      if (desc + descsz > n.length) break;
      if (type === 3 && namesz === 4 && n.toString('latin1', name, name + 3) === 'GNU') {
        return n.toString('hex', desc, desc + descsz);
      }
      p = desc + ((descsz + 3) & ~3);
    }
  }
  return null;
}

/** Files up to this size are keyed by a hash of their whole content when they have no build-id. */
const HASH_WHOLE_LIMIT = 16 << 20;

/**
 * What identifies an image for the cache: its GNU build-id; else, for a small file, a SHA-256 of its
 * content; else its size and mtime with a SHA-256 of its first 64 KiB and its section header table
 * (perf's build-id cache, with a fallback for images built without --build-id).
 */
export function imageKey(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const id = buildId(fd);
    if (id) return `bid-${id}`;
    const st = fstatSync(fd);
    const hash = createHash('sha256');
    if (st.size <= HASH_WHOLE_LIMIT) {
      hash.update(readAt(fd, 0, st.size));
      return `sha-${hash.digest('hex').slice(0, 40)}`;
    }
    const head = readAt(fd, 0, 65536);
    hash.update(head);
    if (head.length >= 64 && head.readUInt32BE(0) === 0x7f454c46) {
      const shoff = Number(head.readBigUInt64LE(40)), shentsize = head.readUInt16LE(58), shnum = head.readUInt16LE(60);
      if (shoff > 0 && shoff < st.size) hash.update(readAt(fd, shoff, Math.min(shentsize * shnum, 1 << 22)));
    }
    return `st-${st.size}-${Math.floor(st.mtimeMs)}-${hash.digest('hex').slice(0, 32)}`;
  } finally {
    closeSync(fd);
  }
}

function header(kind: string, key: string, payload: Buffer): Buffer {
  const meta = Buffer.from(JSON.stringify({ kind, key, format: CACHE_FORMAT, length: payload.length }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(meta.length);
  const sum = Buffer.alloc(SUM_LEN);
  sum.writeUInt32LE(checksum(payload));
  return Buffer.concat([MAGIC, len, meta, sum]);
}

/**
 * Reads an entry written by writeCache with the same kind and key. Returns null when the cache is off,
 * the entry is missing, or it does not validate (wrong magic, another key or format, truncated, or a
 * payload whose checksum differs); an invalid entry is removed so that the next writer replaces it.
 */
export function readCache(kind: string, name: string, key: string, env: NodeJS.ProcessEnv = process.env): Buffer | null {
  if (!cacheEnabled(env)) return null;
  const path = cachePath(kind, name, env);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch {
    return null;
  }
  const bad = (): null => {
    try { unlinkSync(path); } catch { /* another process may have replaced or removed it */ }
    return null;
  };
  const h = entryHeader(buf, buf.length, kind, key);
  if (h === null) return bad();
  const payload = buf.subarray(h.at);
  const ok = h.sha ? createHash('sha256').update(payload).digest().equals(buf.subarray(h.sumAt, h.sumAt + SHA_LEN))
    : checksum(payload) === buf.readUInt32LE(h.sumAt);
  if (!ok) return bad();
  touch(path);
  return payload;
}

/** An entry read in parts (openCacheReader). */
export interface CacheReader {
  /** The payload's length. */
  readonly length: number;
  /** `length` bytes of the payload at `offset` (throws past its end, or when the file is short). */
  read(offset: number, length: number): Buffer;
  /** The payload's bytes at `offset` straight into `dst` (all of it; throws as read does). */
  readInto(offset: number, dst: Uint8Array): void;
  /** Removes the entry (its parts did not check out), so that the next writer replaces it. */
  drop(): void;
  /** Closes the file (reads afterwards throw). */
  close(): void;
}

/** The header at the start of `head` (an entry's first bytes; `size` the whole file's): whether its
 *  payload is checked by SHA-256 (KTRACEC1) or CRC-32, where that check and the payload start; null when
 *  it is not a whole entry of this kind, key and format. */
function entryHeader(head: Buffer, size: number, kind: string, key: string): { sha: boolean; sumAt: number; at: number } | null {
  const magic = head.subarray(0, MAGIC.length);
  const sha = magic.equals(MAGIC_SHA);
  if (!sha && !magic.equals(MAGIC)) return null;
  const sumLen = sha ? SHA_LEN : SUM_LEN;
  if (head.length < MAGIC.length + 4 + sumLen) return null;
  const metaEnd = MAGIC.length + 4 + head.readUInt32LE(MAGIC.length);
  if (metaEnd + sumLen > head.length) return null;
  let meta: { kind?: unknown; key?: unknown; format?: unknown; length?: unknown } | null;
  try {
    meta = JSON.parse(head.toString('utf8', MAGIC.length + 4, metaEnd));
  } catch {
    return null;
  }
  const at = metaEnd + sumLen;
  if (meta?.kind !== kind || meta.key !== key || meta.format !== CACHE_FORMAT || meta.length !== size - at) return null;
  return { sha, sumAt: metaEnd, at };
}

/**
 * An entry written by writeCache, to be read in parts: a big index of which a query needs a little. Its
 * header is checked as readCache checks it (magic, kind, key, format, the payload's length against the
 * file's), but not the payload's CRC-32, which would need all of it: the payload must carry checksums of
 * its own parts, which the caller checks as it reads them. null when the cache is off, the entry is
 * missing, or its header does not fit (a bad entry is removed). The descriptor stays open until close()
 * (a query that opens a few may leave them to the process's end).
 */
export function openCacheReader(kind: string, name: string, key: string, env: NodeJS.ProcessEnv = process.env): CacheReader | null {
  if (!cacheEnabled(env)) return null;
  const path = cachePath(kind, name, env);
  let fd: number;
  try { fd = openSync(path, 'r'); } catch { return null; }
  const drop = () => { try { unlinkSync(path); } catch { /* replaced or removed by another process */ } };
  try {
    const size = fstatSync(fd).size;
    const h = entryHeader(readAt(fd, 0, Math.min(size, 4096)), size, kind, key);
    if (h === null || h.sha) throw new Error('header'); // entries read in parts are written with CRC-32s
    const at = h.at, length = size - at;
    touch(path);
    let open = true;
    const check = (offset: number, len: number) => {
      if (!open) throw new RangeError(`cache entry ${name}: read after close`);
      if (!(offset >= 0 && len >= 0 && offset + len <= length)) throw new RangeError(`cache entry ${name}: read of ${len} at ${offset} outside its ${length} bytes`);
    };
    return {
      length,
      read(offset, len) {
        check(offset, len);
        const b = readAt(fd, at + offset, len);
        if (b.length !== len) throw new RangeError(`cache entry ${name}: short read`);
        return b;
      },
      readInto(offset, dst) {
        check(offset, dst.length);
        for (let got = 0; got < dst.length;) {
          const n = readSync(fd, dst, got, dst.length - got, at + offset + got);
          if (n === 0) throw new RangeError(`cache entry ${name}: short read`);
          got += n;
        }
      },
      drop,
      close() { if (open) { open = false; try { closeSync(fd); } catch { /* closed */ } } },
    };
  } catch {
    try { closeSync(fd); } catch { /* closed */ }
    drop();
    return null;
  }
}

/**
 * Writes an entry atomically (temporary file in the same folder, then rename). Returns false, and
 * leaves no partial file, when the cache is off or cannot be written (unwritable folder, full disk):
 * the caller goes on without a cache.
 */
export function writeCache(kind: string, name: string, key: string, payload: Buffer, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!cacheEnabled(env)) return false;
  return writeCacheFile(kind, name, Buffer.concat([header(kind, key, payload), payload]), env);
}

/**
 * Writes a plain file (no header: an expanded kernel that other tools read as it is) at ROOT/KIND/NAME
 * atomically, as writeCache does. The caller names it by what it was built from and checks its
 * content before writing; false when the cache is off or cannot be written.
 */
export function writeCacheFile(kind: string, name: string, payload: Uint8Array, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!cacheEnabled(env)) return false;
  const path = cachePath(kind, name, env);
  const tmp = `${path}.tmp-${process.pid}-${Date.now().toString(36)}`;
  try {
    mkdirSync(join(cacheRoot(env), kind), { recursive: true });
    writeFileSync(tmp, payload);
    renameSync(tmp, path);
    prune(kind, path, env);
    return true;
  } catch {
    try { unlinkSync(tmp); } catch { /* nothing was written */ }
    return false;
  }
}

/** The most one kind of entry may take, in bytes: $KTRACE_CACHE_MAX_MB MiB (default 512). */
export function cacheLimit(env: NodeJS.ProcessEnv = process.env): number {
  const mb = Number(env.KTRACE_CACHE_MAX_MB);
  return (Number.isFinite(mb) && mb > 0 ? mb : 512) * (1 << 20);
}

/** A read marks an entry as used (its mtime), so that pruning removes the least recently used first. */
function touch(path: string): void {
  try {
    const now = new Date();
    utimesSync(path, now, now);
  } catch { /* read-only cache: pruning just sees an older entry */ }
}

/**
 * Keeps one kind's folder under cacheLimit: entries built from other images, options or ktrace builds
 * (a snapshot's key names the build) would otherwise pile up for ever. The least recently used go
 * first; the entry just written and temporary files of writers still at work (under an hour old) stay.
 * Another process reading a removed entry just rebuilds it.
 */
function prune(kind: string, keep: string, env: NodeJS.ProcessEnv): void {
  try {
    const dir = join(cacheRoot(env), kind);
    const now = Date.now();
    const entries: { path: string; size: number; mtime: number }[] = [];
    let total = 0;
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      let st;
      try { st = statSync(path); } catch { continue; }
      if (!st.isFile()) continue;
      total += st.size;
      const inFlight = name.includes('.tmp-') && now - st.mtimeMs < 3_600_000;
      if (path !== keep && !inFlight) entries.push({ path, size: st.size, mtime: st.mtimeMs });
    }
    const limit = cacheLimit(env);
    entries.sort((a, b) => a.mtime - b.mtime);
    for (const e of entries) {
      if (total <= limit) break;
      try { unlinkSync(e.path); total -= e.size; } catch { /* removed by another process */ }
    }
  } catch { /* an unreadable folder is left as it is */ }
}

/** Whether a path exists as a regular file (for entries that are plain files, such as expanded kernels). */
export function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
