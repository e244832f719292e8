// Decoded instructions kept across runs (cache kind 'code', one entry per image): a later run of the same
// image takes its ops from the entry instead of decoding them again with iced-x86, which costs the most of
// a short run's start (the decoder's warm-up, and ~30 calls into its WebAssembly per instruction), with
// the source of each op's single-instruction function (its shape) and of each compiled block (by its ops'
// addresses and bytes, emu/compile.ts blockSources): no code generation either. Each
// op is used only where guest memory holds its exact bytes then (emu/decode.ts DecodeCache.preload), so the
// entry can change how fast a run starts, never what it does (tested against runs without the cache).
// The entry's block and shape sources are compiled as one script whose functions V8's code cache (a second
// entry, NAME.v8, written at the end of the first run that used the script) holds compiled: a warm run
// neither parses nor compiles them (compiling a block's function cost 1-2 ms, hundreds of them a run).
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCache, writeCache } from '../cache.js';
import type { Image } from '../elf/image.js';
import type { Machine } from '../emu/machine.js';
import { readdirSync } from 'node:fs';
import { KIND_FIELDS, memOf, opOf, type MemRef, type OpRecord, type OpShape, type OpSource } from '../emu/decode.js';
import { icedMemo } from '../emu/iced.js';
import { blockSources, OP_SHAPES, prebuiltBlocks, type BlockFactory, type BlockSource, type OpFactory } from '../emu/compile.js';
import { Script } from 'node:vm';

/** The entry: shape sources once, and each record's shape as an index into them; block sources by key;
 *  iced's remembered results (emu/iced.ts memoIced). Each record's operand arrays (its fields 7-13, one
 *  tuple), memory operand (14), bytes (21) and the fields of its instruction's kind (length, code,
 *  mnemonic, flags ...: KIND_FIELDS) are indexes into tables of the distinct ones (`forms`, `mems`,
 *  `bytes`, `kinds`: Linux's 23K records have ~2K, ~1.5K, ~8K and ~1K), which halves what JSON.parse makes
 *  (the arrays are shared: nothing changes an op's arrays after decoding); addresses and branch targets are
 *  differences (records sorted by address), short numbers in the JSON. (A binary form of the records, read
 *  one at a time, was tried: it made the miniature's default run ~15% slower than JSON.parse of them all.) */
interface Payload {
  shapes: string[]; kinds: unknown[][]; forms: number[][][]; mems: unknown[][]; bytes: number[][]; ops: unknown[][];
  blocks: [string, BlockSource][]; memo: [string, unknown][];
  /** The blocks runs compiled (Machine.hotHint): start address and blockPrint pairs, flat, the newest first. */
  hot: number[];
  /** Each record's, block's and `hot` pair's age: how many of the runs that wrote the entry since the one
   *  that last used it did not use it (see MAX_AGE). */
  ages: number[]; blockAges: number[]; hotAges: number[];
}
/** The layout of the entry's payload (part of its key, with the decoder's fingerprint). */
const ENTRY_FORMAT = 5;
/** A record, block source or hot block that this many runs in a row wrote the entry without using is left
 *  out of it: an entry otherwise only grows with every workload, probe and kernel change a user runs (a
 *  Linux entry grew from 2.0 to 6.8 MB in a day's use, and every run from the snapshot then took ~15%
 *  longer reading it). Runs that learn nothing new do not write the entry, so they age nothing. */
const MAX_AGE = 6;
/** Blocks kept in `hot` at most. */
const HOT_MAX = 20000;
/** What loadCode read for a machine, for its saveCode (per machine: a process may run several). */
interface Read {
  /** the entry's `hot` (saveCode adds this run's compiled blocks to it) and its ages */
  hot: number[]; hotAges: number[];
  /** the entry's records as this run's decoder has them (`used`: made by this run) and their ages */
  src: PackedSource | null; ages: number[];
  /** the entry's block sources by key: their index in `blockAges`, whether this run compiled one
   *  (from its prebuilt function) */
  blockAt: Map<string, number>; blockAges: number[]; blockUsed: Uint8Array;
  /** blockSources.learned and icedMemo.learned then (a run that compiled no new block and asked iced
   *  nothing new need not rewrite the entry) */
  blocksAt: number; memoAt: number;
}
const reads = new WeakMap<Machine, Read>();

const KIND = 'code';
/** Block source kept in an entry at most, in characters (each block's source is a few KiB). */
const BLOCK_BYTES = 2 << 20;
/** JSON of iced's remembered results (emu/iced.ts memoIced) kept in an entry at most. */
const MEMO_BYTES = 1 << 20;

let decoderPrint: string | undefined;
/** The code cache's key for the records and sources: the built fingerprint, else computed now. */
function decoderFingerprint(): string {
  return decoderPrint ??= builtFingerprint(EMU_DIR(), fingerprintInputs()) ?? computeFingerprint();
}
const EMU_DIR = (): string => join(dirname(fileURLToPath(import.meta.url)), '..', 'emu');
/** The file `npm run build` writes beside the emulator's modules (scripts/emu-print.mjs). */
export const PRINT_FILE = 'fingerprint.json';
/** The files the fingerprint covers besides the emulator's modules: this module (ENTRY_FORMAT) and
 *  iced-x86's package.json (its version). */
function fingerprintInputs(): string[] {
  const out = [fileURLToPath(import.meta.url)];
  try { out.push(createRequire(import.meta.url).resolve('iced-x86/package.json')); } catch { /* hashed as '?' */ }
  return out;
}

/** What the records depend on: the emulator's source (the decoder and the code generator), the entry's
 *  format and iced-x86's version (reads and hashes ~1 MB: ~3.5 ms). */
export function computeFingerprint(): string {
  const h = createHash('sha256');
  h.update(`entry ${ENTRY_FORMAT};`);
  const emu = EMU_DIR();
  for (const f of readdirSync(emu).filter((n) => n.endsWith('.js')).sort()) { h.update(f); h.update(readFileSync(join(emu, f))); }
  try { h.update(readFileSync(createRequire(import.meta.url).resolve('iced-x86/package.json'))); } catch { h.update('?'); }
  return h.digest('hex').slice(0, 24);
}

/** The fingerprint the build wrote in `dir` (computeFingerprint, at `npm run build`), or undefined when
 *  there is none or a file it covers (dir's modules, `also`) is newer than it: a compile without the
 *  build's last step (tsc alone) must not name the old sources' entries. */
export function builtFingerprint(dir: string, also: readonly string[]): string | undefined {
  try {
    const f = join(dir, PRINT_FILE), at = statSync(f).mtimeMs;
    for (const n of readdirSync(dir)) if (n.endsWith('.js') && statSync(join(dir, n)).mtimeMs > at) return undefined;
    for (const x of also) if (statSync(x).mtimeMs > at) return undefined;
    const v = (JSON.parse(readFileSync(f, 'utf8')) as { fingerprint?: unknown }).fingerprint;
    return typeof v === 'string' && /^[0-9a-f]{24}$/.test(v) ? v : undefined;
  } catch { return undefined; }
}

/** Write the fingerprint beside the emulator's modules (scripts/emu-print.mjs, the build's last step). */
export function writeBuiltFingerprint(): void {
  writeFileSync(join(EMU_DIR(), PRINT_FILE), JSON.stringify({ fingerprint: computeFingerprint() }) + '\n');
}

/** The entry's name: the image's cache key when known, else its entry point and segment layout (two
 *  images that share it only share a file of records, each still checked against memory), and the
 *  decoder's fingerprint (builds with different emulator sources keep an entry each, instead of
 *  replacing each other's on every run). */
function entryName(image: Image, imageKey: string | undefined): string {
  const fp = decoderFingerprint().slice(0, 12);
  if (imageKey) return `${imageKey}-${fp}`;
  const h = createHash('sha256');
  h.update(String(image.header.entry));
  for (const s of image.segments) h.update(`${s.vaddr}:${s.memsz}:${s.filesz}:${s.flags};`);
  return `lay-${h.digest('hex').slice(0, 40)}-${fp}`;
}

/** The script of an entry's sources (see prebuild), and whether V8 took its code cache. */
let jit: { script: Script; name: string; key: string; cached: boolean; saved: boolean } | null = null;

/** Where the last loadCode's functions came from (tests): none (no entry), compiled now, or V8's code cache. */
export function jitState(): 'none' | 'compiled' | 'cached' { return jit === null ? 'none' : jit.cached ? 'cached' : 'compiled'; }

/** Each block source as a factory of its function (compile.ts compileBlocks, with K its constants) and each
 *  shape as one of its single-instruction function (compileOp), in one script. The functions are in
 *  parentheses: V8 compiles them with their factory, so that the code cache holds every one that ran. */
function jitSource(blocks: readonly [string, BlockSource][], shapes: readonly string[]): string {
  return '[[' + blocks.map(([, b]) => `(H,K)=>(function ${b[0]}(c,R,m,L){\n${b[1]}\n})`).join(',\n') + '],\n['
    + shapes.map((s) => `(H,K,N)=>(function(c,R,m,L){\n${s}\n})`).join(',\n') + ']]';
}

/** Make the functions of the entry's blocks and shapes ahead of time, from V8's code cache when there is one. */
function prebuild(name: string, blocks: readonly [string, BlockSource][], shapes: readonly string[], used: Uint8Array): void {
  const src = jitSource(blocks, shapes);
  const key = `${decoderFingerprint()};v8 ${process.versions.v8};${createHash('sha256').update(src).digest('hex').slice(0, 32)}`;
  const data = readCache(KIND, name + '.v8', key);
  let script: Script;
  try {
    script = new Script(src, { filename: 'ktrace-code-cache.js', ...(data ? { cachedData: data } : {}) });
  } catch { return; } // a source that does not compile is generated again, as without the entry
  const [bf, sf] = script.runInThisContext() as [BlockFactory[], OpFactory[]];
  blocks.forEach(([, b], i) => prebuiltBlocks.set(b[1], (h, k) => { used[i] = 1; return bf[i](h, k); }));
  shapes.forEach((s, i) => { if (!OP_SHAPES.has(s)) OP_SHAPES.set(s, sf[i]); });
  jit = { script, name: name + '.v8', key, cached: data !== null && !script.cachedDataRejected, saved: false };
}

/** Offer the machine the ops earlier runs of this image decoded (nothing when there is no valid entry). */
export function loadCode(machine: Machine, image: Image, imageKey?: string): void {
  jit = null;
  reads.delete(machine);
  const buf = readCache(KIND, entryName(image, imageKey), decoderFingerprint());
  if (buf === null) return;
  let p: Payload;
  try { p = JSON.parse(buf.toString('utf8')) as Payload; } catch { return; }
  if (!p || !Array.isArray(p.ops) || !Array.isArray(p.shapes) || !Array.isArray(p.blocks) || !Array.isArray(p.memo)
    || !Array.isArray(p.kinds) || !Array.isArray(p.forms) || !Array.isArray(p.mems) || !Array.isArray(p.bytes) || !Array.isArray(p.hot) || p.hot.length % 2 !== 0 || !p.hot.every(Number.isFinite)) return;
  const ops = packedSource(p);
  if (ops === null) return; // does not read back: decoded again, as without an entry
  const blockAt = new Map<string, number>();
  p.blocks.forEach(([k, b], i) => {
    if (typeof k === 'string' && Array.isArray(b) && typeof b[0] === 'string' && typeof b[1] === 'string' && Array.isArray(b[2]) && typeof b[3] === 'number') {
      blockSources.map.set(k, b);
      blockAt.set(k, i);
    }
  });
  const blocksAt = blockSources.learned;
  for (const e of p.memo) if (Array.isArray(e) && typeof e[0] === 'string' && e[1] !== undefined && e[1] !== null && !icedMemo.map.has(e[0])) icedMemo.map.set(e[0], e[1]);
  const blockUsed = new Uint8Array(p.blocks.length);
  reads.set(machine, {
    hot: p.hot, hotAges: agesOf(p.hotAges, p.hot.length / 2), src: ops, ages: agesOf(p.ages, p.ops.length),
    blockAt, blockAges: agesOf(p.blockAges, p.blocks.length), blockUsed, blocksAt, memoAt: icedMemo.learned,
  });
  machine.decoder.preload(ops);
  const hint = machine.hotHint = new Map<number, number>();
  for (let i = 0; i < p.hot.length; i += 2) if (!hint.has(p.hot[i])) hint.set(p.hot[i], p.hot[i + 1]); // the newest
  prebuild(entryName(image, imageKey), p.blocks, p.shapes, blockUsed);
}

/** An entry's ages of `n` things (an entry without them, or with a list that does not read back: all 0). */
function agesOf(a: unknown, n: number): number[] {
  return Array.isArray(a) && a.length === n && a.every((x) => Number.isInteger(x) && x >= 0) ? a as number[] : new Array<number>(n).fill(0);
}
const recordKey = (ip: number, bytes: readonly number[]): string => `${ip}:${bytes.join(',')}`;

/** Keep what this run decoded for the next one (no write when it decoded nothing new). */
export function saveCode(machine: Machine, image: Image, imageKey?: string): void {
  let records = machine.decoder.records();
  const read: Read = reads.get(machine) ?? { hot: [], hotAges: [], src: null, ages: [], blockAt: new Map(), blockAges: [], blockUsed: new Uint8Array(0), blocksAt: 0, memoAt: 0 };
  const hotAt = read.hot;
  // the blocks this run compiled that the entry does not name yet
  const known = new Set<string>(), fresh = new Map<string, [number, number]>();
  for (let i = 0; i < hotAt.length; i += 2) known.add(`${hotAt[i]}:${hotAt[i + 1]}`);
  const log = machine.compiledLog;
  for (let i = log.length - 2; i >= 0; i -= 2) { // the newest first
    const k = `${log[i]}:${log[i + 1]}`;
    if (!known.has(k)) fresh.set(k, [log[i], log[i + 1]]);
  }
  if (records === null) {
    if (blockSources.learned === read.blocksAt && icedMemo.learned === read.memoAt && fresh.size === 0) {
      // the entry stays: keep V8's compiled code of its script (the functions this run compiled) for the next run
      if (jit !== null && !jit.cached && !jit.saved) { writeCache(KIND, jit.name, jit.key, jit.script.createCachedData()); jit.saved = true; }
      return;
    }
    records = machine.decoder.records(true)!;
  }
  // what this run used is 0 again, the rest a run older; what is older than MAX_AGE is left out (MAX_AGE)
  const compiledNow = new Set<string>();
  for (let i = 0; i < log.length; i += 2) compiledNow.add(`${log[i]}:${log[i + 1]}`);
  const hot: number[] = [], hotAges: number[] = [];
  for (const [a, print] of fresh.values()) { hot.push(a, print); hotAges.push(0); }
  for (let i = 0; i < hotAt.length && hot.length < 2 * HOT_MAX; i += 2) {
    const age = compiledNow.has(`${hotAt[i]}:${hotAt[i + 1]}`) ? 0 : (read.hotAges[i / 2] ?? 0) + 1;
    if (age <= MAX_AGE) { hot.push(hotAt[i], hotAt[i + 1]); hotAges.push(age); }
  }
  const recordAge = new Map<string, number>();
  const src = read.src;
  if (src !== null) for (let j = 0; j < src.n; j++) recordAge.set(recordKey(src.ips[j], src.bytes(j)), src.used[j] ? 0 : read.ages[j] + 1);
  const ageOf = new Map<OpRecord, number>();
  records = records.filter((r) => {
    const age = recordAge.get(recordKey(r[0], r[21])) ?? 0; // (decoded by iced in this run: 0)
    ageOf.set(r, age);
    return age <= MAX_AGE;
  });
  const packed = packRecords(records, ageOf);
  // the most recently learned block sources, up to BLOCK_BYTES of source: what a run loads stays small
  const blocks: [string, BlockSource][] = [], blockAges: number[] = [];
  let bytes = 0;
  for (const e of [...blockSources.map].reverse()) {
    const i = read.blockAt.get(e[0]);
    const age = i === undefined || read.blockUsed[i] ? 0 : read.blockAges[i] + 1;
    if (age > MAX_AGE) continue;
    bytes += e[0].length + e[1][1].length;
    if (bytes > BLOCK_BYTES) break;
    blocks.push(e); blockAges.push(age);
  }
  // iced's remembered results, the newest first, up to MEMO_BYTES of JSON
  const memo: [string, unknown][] = [];
  let memoBytes = 0;
  for (const e of [...icedMemo.map].reverse()) {
    memoBytes += JSON.stringify(e).length;
    if (memoBytes > MEMO_BYTES) break;
    memo.push(e);
  }
  const payload: Payload = { ...packed, blocks: blocks.reverse(), blockAges: blockAges.reverse(), memo: memo.reverse(), hot, hotAges };
  // the next saveCode of this machine, if any, starts from what this one wrote (all of it as used now)
  reads.set(machine, {
    hot, hotAges, src: null, ages: [], blockAt: new Map(payload.blocks.map(([k], i) => [k, i])), blockAges: payload.blockAges,
    blockUsed: new Uint8Array(payload.blocks.length).fill(1), blocksAt: blockSources.learned, memoAt: icedMemo.learned,
  });
  writeCache(KIND, entryName(image, imageKey), decoderFingerprint(), Buffer.from(JSON.stringify(payload)));
}

/** Fields of a record (OpRecord): the operand arrays (7-13) are one index into `forms`; the fields of
 *  its instruction's kind (everything but the address, operands, target, bytes, shape and fault) one
 *  index into `kinds`. */
const FORM_AT = 7, FORM_LEN = 7, MEM_AT = 14, TARGET_AT = 15, BYTES_AT = 21, SHAPE_AT = 24;
/** A packed record: [ip - the previous record's ip, kind, form, mem (-1: none), target - ip (null: none),
 *  bytes, shape?, fault?] (addresses as differences: short numbers in the JSON). */
const P_SHAPE = 6;

/** The records as the entry keeps them (Payload): kinds, operand tuples, memory operands, bytes and shapes
 *  by index, addresses as differences. */
function packRecords(records: readonly OpRecord[], ageOf: ReadonlyMap<OpRecord, number>): Pick<Payload, 'shapes' | 'kinds' | 'forms' | 'mems' | 'bytes' | 'ops' | 'ages'> {
  const shapes: string[] = [], kinds: unknown[][] = [], forms: number[][][] = [], mems: unknown[][] = [], bytes: number[][] = [];
  const shapeAt = new Map<string, number>(), kindAt = new Map<string, number>(), formAt = new Map<string, number>(), memAt = new Map<string, number>(), bytesAt = new Map<string, number>();
  const intern = <T>(list: T[], at: Map<string, number>, key: string, v: T): number => {
    let i = at.get(key);
    if (i === undefined) { i = list.length; list.push(v); at.set(key, i); }
    return i;
  };
  let prev = 0;
  // by address (a stable sort: an address's versions keep their order, the newest first): short differences
  const sorted = [...records].sort((a, b) => a[0] - b[0]);
  const ages = sorted.map((r) => ageOf.get(r) ?? 0);
  const ops = sorted.map((r) => {
    const kind = KIND_FIELDS.map((i) => r[i]);
    const form = r.slice(FORM_AT, FORM_AT + FORM_LEN) as number[][];
    const m = r[MEM_AT], t = r[TARGET_AT], b = r[BYTES_AT];
    const out: unknown[] = [r[0] - prev, intern(kinds, kindAt, JSON.stringify(kind), kind), intern(forms, formAt, JSON.stringify(form), form),
      m === null ? -1 : intern(mems, memAt, JSON.stringify(m), m as unknown[]), t === null ? null : t - r[0], intern(bytes, bytesAt, b.join(','), b)];
    prev = r[0];
    if (r.length > SHAPE_AT) {
      const sh = r[SHAPE_AT];
      out.push(sh === undefined ? null : [sh[0], intern(shapes, shapeAt, sh[1], sh[1]), sh[2], sh[3]]);
      if (r.length > SHAPE_AT + 1) out.push(r[SHAPE_AT + 1]);
    }
    return out;
  });
  return { shapes, kinds, forms, mems, bytes, ops, ages };
}

/** An OpSource over an entry's records that notes which of them a run made into ops. */
interface PackedSource extends OpSource { readonly used: Uint8Array }
/** The records of a packed entry as an OpSource (emu/decode.ts: an op is made when a run meets its address,
 *  sharing the entry's operand tuples, memory operands and bytes, without a record of its own), or null
 *  when an index or a field does not read back. (Every record made up front took ~30-60 ms of Linux's
 *  short run, and ~5 MB that the young generation copied.) */
function packedSource(p: Payload): PackedSource | null {
  const { kinds, forms, mems, bytes, shapes, ops } = p;
  const n = ops.length;
  const ips = new Float64Array(n);
  let ip = 0;
  for (let j = 0; j < n; j++) {
    const o = ops[j];
    if (!Array.isArray(o) || o.length < P_SHAPE || !Number.isFinite(o[0])) return null;
    const kind = kinds[o[1] as number], form = forms[o[2] as number], m = o[3] as number, t = o[4], b = bytes[o[5] as number];
    if (!Array.isArray(kind) || kind.length !== KIND_FIELDS.length || !Array.isArray(form) || form.length !== FORM_LEN
      || !(m === -1 || Array.isArray(mems[m])) || !(t === null || typeof t === 'number') || !Array.isArray(b)) return null;
    const at = ip + (o[0] as number);
    if (!(at >= ip) && j > 0) return null; // by address (DecodeCache.preload's order)
    ips[j] = ip = at;
  }
  const record = (j: number): OpRecord => {
    const o = ops[j];
    const k = kinds[o[1] as number], f = forms[o[2] as number], m = o[3] as number, t = o[4], ip = ips[j];
    // One array literal in OpRecord's order (KIND_FIELDS: k's fields go to 1-6, 16-20, 22, 23), the
    // address stored last: stored first, a double, it makes the array a double array, which the first
    // array field then turns into a generic one by boxing every number before it; fromRecord's op took
    // those boxes, and V8 then keeps its integer fields (len, code, mn ...) boxed in every op (~10 heap
    // numbers an op: 4 MB of Linux's short run, copied by the scavenges).
    const r: unknown[] = [0, k[0], k[1], k[2], k[3], k[4], k[5], f[0], f[1], f[2], f[3], f[4], f[5], f[6],
      m === -1 ? null : mems[m], t === null ? null : ip + (t as number), k[6], k[7], k[8], k[9], k[10], bytes[o[5] as number], k[11], k[12]];
    r[0] = ip;
    if (o.length > P_SHAPE) {
      r[SHAPE_AT] = shapeOf(o) ?? undefined;
      if (o.length > P_SHAPE + 1) r[SHAPE_AT + 1] = o[P_SHAPE + 1];
    }
    return r as unknown as OpRecord;
  };
  /** A packed record's shape (a shape that does not read back is generated again). */
  const shapeOf = (o: unknown[]): OpShape | null => {
    const sh = o.length > P_SHAPE ? o[P_SHAPE] as [number, number, number[], number] | null : null;
    const text = sh === null ? undefined : shapes[sh[1]];
    return sh !== null && typeof text === 'string' && Array.isArray(sh[2]) && typeof sh[3] === 'number' ? [sh[0], text, sh[2], sh[3]] : null;
  };
  // one memory operand object and one Uint8Array per distinct one in the entry, made when first used
  const memRefs: (MemRef | undefined)[] = new Array(mems.length);
  const u8: (Uint8Array | undefined)[] = new Array(bytes.length);
  const used = new Uint8Array(n);
  return {
    n, ips, record, used,
    bytes: (j) => bytes[ops[j][5] as number],
    fault: (j) => { const o = ops[j]; return o.length > P_SHAPE + 1 ? o[P_SHAPE + 1] as number : undefined; },
    // (the op straight from the packed form: a record first cost ~700 bytes an op)
    op: (j, probe) => {
      const o = ops[j], m = o[3] as number, b = o[5] as number, t = o[4];
      used[j] = 1;
      return opOf(ips[j], kinds[o[1] as number], forms[o[2] as number], m === -1 ? null : (memRefs[m] ??= memOf(mems[m] as NonNullable<OpRecord[14]>)),
        t === null ? NaN : ips[j] + (t as number), u8[b] ??= Uint8Array.from(bytes[b]), probe, shapeOf(o), o.length > P_SHAPE + 1 ? o[P_SHAPE + 1] as number : 0);
    },
  };
}
