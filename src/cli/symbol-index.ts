// The persistent symbol index of a big image (beside the debug-info index of src/debuginfo/index-cache.ts, in
// the same cache folder, keyed the same way): the orders of .symtab that `funcs`, `disasm` and symbol
// lookups need (by name, functions by address, objdump's list, perf's --funcs list), so that a warm query
// reads .symtab's bytes and decodes only the entries it looks at, instead of 118,000 objects. The payload
// records a fingerprint of the image (size, section headers, the ends of .symtab and .strtab) checked on
// every load; indexes outside .symtab or a mismatch mean it is rebuilt, never used.
import { cacheEnabled, checksum, imageKey, openCacheReader, readCache, writeCache, type CacheReader } from '../cache.js';
import type { Image, KprobeTables, SymbolOrders } from '../elf/image.js';
import type { BlacklistEntry } from '../elf/kernel-sections.js';
import { ObjdumpSymbols } from '../elf/objdump-symbols.js';
import { kallsymsOrder, orderKey } from '../elf/kallsyms.js';
import { blacklistText } from '../elf/kernel-sections.js';
import { kallsymsText } from '../kprobe/trampoline.js';
import { FINGERPRINT_LEN, imageFingerprint } from '../debuginfo/fingerprint.js';
import { SYMBOL_INDEX_MIN } from './load-image.js';
import { perfFunctionSymbols, sortPerfFunctions } from '../trace/perf-probe/funcs.js';

const KIND = 'index';
const MAGIC = 0x4b535936; // 'KSY6'
const SAMPLED = (n: string) => n === '.symtab' || n === '.strtab';

export { SYMBOL_INDEX_MIN };

/** The orders computed from the image's symbols (all of them decoded). */
export function buildSymbolOrders(img: Image): SymbolOrders {
  const syms = img.symbols;
  const named = syms.filter((s) => s.index !== 0 && s.name !== '');
  named.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.index - b.index));
  const fns = img.functions;
  const ks = kallsymsOrder(syms);
  return {
    byName: Uint32Array.from(named, (s) => s.index),
    functions: Uint32Array.from(fns, (s) => s.index),
    maxFunctionSize: fns.reduce((m, f) => Math.max(m, f.size, 1), 1),
    objdump: ObjdumpSymbols.order(img),
    perf: Uint32Array.from(sortPerfFunctions(perfFunctionSymbols(img)), (s) => s.index),
    kallsyms: Uint32Array.from(ks, (s) => s.index),
    kallsymsKeys: Float64Array.from(ks, (s) => orderKey(s.addr)),
  };
}

const LISTS = ['byName', 'functions', 'objdump', 'perf', 'kallsyms'] as const;
type List = typeof LISTS[number];
/** magic, symbol count, largest function size, the lists' lengths, the names' length, CRC-32s of the lists,
 *  the names and kallsyms' keys. */
const HEAD_LEN = 8 + 8 + 4 * LISTS.length + 4 + 4 * (LISTS.length + 2);

/**
 * The payload: the head, the image's fingerprint, the lists (little-endian u32 .symtab indexes), perf's
 * names one a line, then kallsyms' search keys (float64, one per entry of its list, when known: building
 * them reads every entry's address, ~10 ms for Linux's 33,000). Each list, the names and the keys carry a
 * CRC-32 of their own: a query reads the head and only what it uses (a disassembly reads 2 of the 2.6 MB of
 * a distribution kernel's index).
 */
export function encodeSymbolOrders(img: Image, o: SymbolOrders): Buffer {
  const names = Buffer.from(Array.from(o.perf, (i) => img.symbolNameAt(i)).join('\n'), 'utf8');
  const lists = LISTS.map((k) => Buffer.from(o[k].buffer, o[k].byteOffset, o[k].byteLength));
  const head = Buffer.alloc(HEAD_LEN);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(img.symbolCount, 4);
  head.writeDoubleLE(o.maxFunctionSize, 8);
  LISTS.forEach((k, i) => head.writeUInt32LE(o[k].length, 16 + 4 * i));
  head.writeUInt32LE(names.length, 16 + 4 * LISTS.length);
  const k = o.kallsymsKeys?.length === o.kallsyms.length ? o.kallsymsKeys : new Float64Array(0);
  const keys = Buffer.from(k.buffer, k.byteOffset, k.byteLength);
  [...lists, names, keys].forEach((b, i) => head.writeUInt32LE(checksum(b), 20 + 4 * LISTS.length + 4 * i));
  return Buffer.concat([head, imageFingerprint(img, SAMPLED), ...lists, names, keys]);
}

/** Bytes of a payload: a whole one in memory, or an entry read in parts. */
type Bytes = Pick<CacheReader, 'length' | 'read'>;

/**
 * The orders of a payload, or undefined when its head does not describe this image. The lists are read
 * when first used, each checked against its CRC-32 and its ends against .symtab; one that fails is
 * computed from the image's symbols instead (same answers, slower) and `bad` is called (the caller
 * removes the entry so that it is rebuilt).
 */
export function decodeSymbolOrders(img: Image, payload: Buffer | Bytes, bad: () => void = () => {}): SymbolOrders | undefined {
  const bytes: Bytes = Buffer.isBuffer(payload) ? { length: payload.length, read: (at, n) => payload.subarray(at, at + n) } : payload;
  try {
    if (bytes.length < HEAD_LEN + FINGERPRINT_LEN) return undefined;
    const head = bytes.read(0, HEAD_LEN + FINGERPRINT_LEN);
    if (head.readUInt32LE(0) !== MAGIC) return undefined;
    const count = head.readUInt32LE(4), max = head.readDoubleLE(8);
    if (count !== img.symbolCount || !(max >= 1)) return undefined;
    if (!head.subarray(HEAD_LEN).equals(imageFingerprint(img, SAMPLED))) return undefined;
    const lens = LISTS.map((_, i) => head.readUInt32LE(16 + 4 * i));
    const namesLen = head.readUInt32LE(16 + 4 * LISTS.length);
    const crcs = [...LISTS, 'names', 'keys'].map((_, i) => head.readUInt32LE(20 + 4 * LISTS.length + 4 * i));
    const starts: number[] = [];
    let at = HEAD_LEN + FINGERPRINT_LEN;
    for (const n of lens) {
      if (n > count) return undefined;
      starts.push(at);
      at += 4 * n;
    }
    const namesAt = at;
    const keysAt = namesAt + namesLen, keysLen = (bytes.length - keysAt) / 8;
    if (keysLen !== 0 && keysLen !== lens[4]) return undefined;
    let computed: SymbolOrders | undefined;
    const fallback = (): SymbolOrders => {
      if (!computed) { bad(); computed = buildSymbolOrders(img); }
      return computed;
    };
    const read = (k: number): Uint32Array => {
      const n = lens[k]!;
      try {
        const b = bytes.read(starts[k]!, 4 * n);
        if (b.length === 4 * n && checksum(b) === crcs[k]) {
          const l = b.byteOffset % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, n) : new Uint32Array(Uint8Array.prototype.slice.call(b).buffer);
          // The entries are not checked one by one (480,000 of them in a distribution kernel): the CRC-32
          // says the list is what the writer wrote, and the fingerprint and symbol count that it was written
          // for this very .symtab. Its ends are checked.
          if (!n || (l[0]! < count && l[0] !== 0 && l[n - 1]! < count && l[n - 1] !== 0)) return l;
        }
      } catch { /* a short or failed read */ }
      return fallback()[LISTS[k]!];
    };
    const lists = new Map<List, Uint32Array>();
    const list = (k: number) => {
      let l = lists.get(LISTS[k]!);
      if (!l) lists.set(LISTS[k]!, (l = read(k)));
      return l;
    };
    const perfNames = () => {
      const perf = list(3);
      let names: string[] | undefined;
      try {
        const b = namesLen ? bytes.read(namesAt, namesLen) : Buffer.alloc(0);
        if (b.length === namesLen && checksum(b) === crcs[LISTS.length]) names = namesLen ? b.toString('utf8').split('\n') : [];
      } catch { /* a short or failed read */ }
      // One name per entry, and the entries' own names at the ends: else the text is not this list's.
      if (!names || names.length !== perf.length || (perf.length && (names[0] !== img.symbolNameAt(perf[0]!) || names[names.length - 1] !== img.symbolNameAt(perf[perf.length - 1]!)))) {
        return Array.from(perf, (i) => img.symbolNameAt(i));
      }
      return names;
    };
    let keys: Float64Array | undefined;
    const kallsymsKeys = (): Float64Array | undefined => {
      if (keys !== undefined || keysLen === 0) return keys;
      try {
        const b = bytes.read(keysAt, 8 * keysLen);
        if (b.length === 8 * keysLen && checksum(b) === crcs[LISTS.length + 1]) {
          return (keys = new Float64Array(Uint8Array.prototype.slice.call(b).buffer));
        }
      } catch { /* a short or failed read */ }
      return (keys = fallback().kallsymsKeys);
    };
    return {
      get byName() { return list(0); },
      get functions() { return list(1); },
      get objdump() { return list(2); },
      get perf() { return list(3); },
      get kallsyms() { return list(4); },
      get kallsymsKeys() { return kallsymsKeys(); },
      perfNames, maxFunctionSize: max,
    };
  } catch {
    return undefined;
  }
}

const nameOf = (key: string) => `${key}.syms-6`; // the format's version in the name (see index-cache.ts entryOf)

/** The image's cache key (src/cache.ts imageKey), or undefined when the file cannot be keyed. */
function entryOf(path: string): { key: string } | undefined {
  try {
    return { key: imageKey(path) };
  } catch {
    return undefined;
  }
}

/** Gives a big image its symbol orders from the cache (read in parts); false when there are none (or they do not fit). */
export function useSymbolIndex(img: Image, path: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!cacheEnabled(env) || img.source.size < SYMBOL_INDEX_MIN) return false;
  const e = entryOf(path);
  if (!e) return false;
  const reader = openCacheReader(KIND, nameOf(e.key), e.key, env);
  const o = reader ? decodeSymbolOrders(img, reader, () => reader.drop()) : undefined;
  if (reader && !o) reader.drop();
  if (o) img.useSymbolOrders(o);
  return o !== undefined;
}

export function saveSymbolIndex(img: Image, path: string, o: SymbolOrders, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!cacheEnabled(env)) return false;
  const e = entryOf(path);
  return e ? writeCache(KIND, nameOf(e.key), e.key, encodeSymbolOrders(img, o), env) : false;
}

/**
 * For `funcs`, `disasm` and the like on a big image: its symbol orders from the cache, else a background
 * build of the image's indexes is started (this query parses .symtab as before).
 */
export async function attachSymbolIndex(img: Image, path: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (img.source.size < SYMBOL_INDEX_MIN || useSymbolIndex(img, path, env)) return;
  const { buildInBackground } = await import('./debug-index.js');
  buildInBackground(path, env);
}

/**
 * `perf probe --funcs`' names of a big image (all of them, in its order) from their own cache entry
 * (the image's fingerprint, then the names NUL-separated: ~1 MB for a distribution kernel, against the
 * symbol index's 2.6 MB); else from the symbol index, saved for the next query; undefined when the image
 * is small, the cache is off, or there is no symbol index yet.
 */
export async function perfFunctionNames(img: Image, path: string, env: NodeJS.ProcessEnv = process.env): Promise<string[] | undefined> {
  if (img.source.size < SYMBOL_INDEX_MIN || !cacheEnabled(env)) return undefined;
  const e = entryOf(path);
  if (!e) return undefined;
  const name = `${e.key}.funcs-1`;
  const fp = imageFingerprint(img, SAMPLED);
  const payload = readCache(KIND, name, e.key, env);
  if (payload && payload.length >= FINGERPRINT_LEN && payload.subarray(0, FINGERPRINT_LEN).equals(fp)) {
    return payload.length === FINGERPRINT_LEN ? [] : payload.toString('utf8', FINGERPRINT_LEN).split('\0');
  }
  await attachSymbolIndex(img, path, env);
  const o = img.symbolOrders;
  if (!o) return undefined;
  const names = o.perfNames?.() ?? Array.from(o.perf, (i) => img.symbolNameAt(i));
  saveFunctionNames(img, path, names, env);
  return names;
}

function saveFunctionNames(img: Image, path: string, names: readonly string[], env: NodeJS.ProcessEnv): void {
  const e = entryOf(path);
  if (e) writeCache(KIND, `${e.key}.funcs-1`, e.key, Buffer.concat([imageFingerprint(img, SAMPLED), Buffer.from(names.join('\0'), 'utf8')]), env);
}

/** The index builder's part: the names' entry beside the symbol index (a built image's first `funcs` reads it). */
export function saveFunctionNamesOf(img: Image, path: string, o: SymbolOrders, env: NodeJS.ProcessEnv = process.env): void {
  if (cacheEnabled(env)) saveFunctionNames(img, path, Array.from(o.perf, (i) => img.symbolNameAt(i)), env);
}

/** What a static file's text depends on besides the symbols: NOKPROBE_SYMBOL's table. */
const STATIC_SAMPLED = (n: string) => SAMPLED(n) || n === '_kprobe_blacklist';

/** The kernel-visible files ktrace renders from the image alone (no state, no machine). */
export const STATIC_FILES: Record<string, (img: Image) => string> = {
  '/proc/kallsyms': kallsymsText,
  '/sys/kernel/debug/kprobes/blacklist': (img) => blacklistText(img.kprobeBlacklist),
};

/**
 * A static file's text: from the cache for a big image (keyed like the index, with the image's
 * fingerprint in the payload), else rendered (with the symbol index's orders when there are) and saved.
 */
export async function staticFileText(img: Image, path: string, file: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const render = STATIC_FILES[file]!;
  if (img.source.size < SYMBOL_INDEX_MIN || !cacheEnabled(env)) return render(img);
  const e = entryOf(path);
  if (!e) return render(img);
  const name = `${e.key}.${file.slice(file.lastIndexOf('/') + 1)}-3`;
  const fp = imageFingerprint(img, STATIC_SAMPLED);
  const payload = readCache(KIND, name, e.key, env);
  if (payload && payload.length >= FINGERPRINT_LEN && payload.subarray(0, FINGERPRINT_LEN).equals(fp)) return payload.toString('utf8', FINGERPRINT_LEN);
  await attachSymbolIndex(img, path, env);
  const text = render(img);
  writeCache(KIND, name, e.key, Buffer.concat([fp, Buffer.from(text, 'utf8')]), env);
  return text;
}

/** What the kprobe tables depend on besides the symbols: the tables themselves, and the text jump labels are read from. */
const KPROBE_SAMPLED = (n: string) => SAMPLED(n) || ['_kprobe_blacklist', '__mcount_loc', '__jump_table', '.static_call_sites', '__bug_table', '.smp_locks', '.text'].includes(n);
const kprobeTablesName = (key: string) => `${key}.kprobe-tables-2`;

/** The payload: the image's fingerprint, u32 length of a JSON head (blacklist, reasons, counts), the head,
 *  padding to 8 bytes, the mcount sites, the SMP lock sites and the patched addresses as float64, then each
 *  patched address's reason (u8). */
export function encodeKprobeTables(img: Image, t: KprobeTables): Buffer {
  const reasons = [...new Set(t.patched.values())];
  const head = Buffer.from(JSON.stringify({ blacklist: t.blacklist.map((e) => [e.start, e.end, e.name, e.source]), reasons, mcount: t.mcount.length, smpLocks: t.smpLocks.length, patched: t.patched.size }));
  const fp = imageFingerprint(img, KPROBE_SAMPLED);
  const pre = Buffer.alloc(4);
  pre.writeUInt32LE(head.length);
  const pad = Buffer.alloc((8 - ((fp.length + 4 + head.length) % 8)) % 8);
  const mc = Float64Array.from(t.mcount), locks = Float64Array.from(t.smpLocks), addrs = Float64Array.from(t.patched.keys());
  const why = Uint8Array.from(t.patched.values(), (r) => reasons.indexOf(r));
  return Buffer.concat([fp, pre, head, pad, Buffer.from(mc.buffer), Buffer.from(locks.buffer), Buffer.from(addrs.buffer), Buffer.from(why.buffer)]);
}

/** The tables of a payload, or undefined when it does not describe this image or does not read back. */
export function decodeKprobeTables(img: Image, payload: Buffer): KprobeTables | undefined {
  try {
    const fp = imageFingerprint(img, KPROBE_SAMPLED);
    if (payload.length < fp.length + 4 || !payload.subarray(0, fp.length).equals(fp)) return undefined;
    const n = payload.readUInt32LE(fp.length), headEnd = fp.length + 4 + n;
    const h = JSON.parse(payload.toString('utf8', fp.length + 4, headEnd)) as { blacklist: [number, number, string, BlacklistEntry['source']][]; reasons: string[]; mcount: number; smpLocks: number; patched: number };
    const at = headEnd + ((8 - (headEnd % 8)) % 8);
    if (at + (h.mcount + h.smpLocks) * 8 + h.patched * 9 !== payload.length) return undefined;
    const f64 = (from: number, count: number) => new Float64Array(payload.buffer.slice(payload.byteOffset + from, payload.byteOffset + from + count * 8));
    const plain = (l: Float64Array) => { const a: number[] = new Array(l.length); for (let i = 0; i < l.length; i++) a[i] = l[i]!; return a; };
    const mcount = plain(f64(at, h.mcount)), smpLocks = plain(f64(at + h.mcount * 8, h.smpLocks));
    const addrs = f64(at + (h.mcount + h.smpLocks) * 8, h.patched), why = payload.subarray(at + (h.mcount + h.smpLocks + h.patched) * 8);
    const patched = new Map<number, string>();
    for (let i = 0; i < addrs.length; i++) {
      const r = h.reasons[why[i]!];
      if (typeof r !== 'string') return undefined;
      patched.set(addrs[i]!, r);
    }
    const blacklist = h.blacklist.map(([start, end, name, source]) => ({ start, end, name, source }));
    return { blacklist, mcount, patched, smpLocks };
  } catch {
    return undefined;
  }
}

/**
 * For a run's probe set-up on a big image: the tables register_kprobe's checks read (Image.kprobeTables:
 * NOKPROBE_SYMBOL's blacklist, the mcount sites, the text the kernel patches itself; ~15 ms to read from
 * Linux's image) from their cache entry. False when there is none (saveKprobeTables writes it).
 */
export function useKprobeTables(img: Image, path: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!cacheEnabled(env) || img.source.size < SYMBOL_INDEX_MIN) return false;
  const e = entryOf(path);
  const payload = e ? readCache(KIND, kprobeTablesName(e.key), e.key, env) : null;
  const t = payload ? decodeKprobeTables(img, payload) : undefined;
  if (t) img.useKprobeTables(t);
  return t !== undefined;
}

/** Writes the image's kprobe tables (read from it now when they are not yet) for the next run. */
export function saveKprobeTables(img: Image, path: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!cacheEnabled(env) || img.source.size < SYMBOL_INDEX_MIN) return false;
  const e = entryOf(path);
  return e ? writeCache(KIND, kprobeTablesName(e.key), e.key, encodeKprobeTables(img, img.kprobeTables), env) : false;
}
