// Boot snapshots: the machine is deterministic, so boot once per (image, CPUs, seed, timer period, command
// line, slice, ktrace build) up to where /init starts (the workload's first host call), save the state in
// the cache (src/cache.ts, kind 'snapshot'), and restore it on later runs instead of booting.
//
// What makes a restored run byte-identical to a cold boot:
// - The state is taken at a point the run loop reaches in every run: the first user host call is handed
//   out of the machine's run loop and handled right after by Platform.runSlice, exactly as in place
//   (cold runs pause there too), so the machine, the round-robin and the slice are resumable.
// - Upper layers (kprobes) attach before the state is restored, at instruction 0 as in a cold boot;
//   everything they write is logged. The snapshot records the code boot executed: a write that lands on
//   it, or within MAX_PATCH bytes after it (an optimized probe's jump covers the instructions after its
//   address), or a mapping change of a page boot used, means boot would have run differently: the run
//   boots cold. Otherwise their bytes are written back over the restored pages.
// - The slice hooks (the kprobe optimizer's delayed worker) and the init-memory-freed hooks ran during the
//   cold boot at known instruction counts: they are replayed in order, the guest clock set to those counts.
// - User pages (the workload's stub, strings and stacks) are not saved: the run's own runner.setup()
//   wrote them, and boot must not have changed them (checked when the snapshot is made).
// - Real Linux (kernel/linux): what is saved is guest-physical RAM (the pages that differ from what boot()
//   writes, which a restored run's boot() has written again: the kernel's image, the initrd), the devices and
//   the MMU's registers; the emulator's page map is a TLB there, so it is restored empty (the guest sees
//   no difference: a TLB miss is resolved invisibly). Probes armed before boot wrote kernel text through
//   the image's mapping: those writes are checked and put back by physical address. The run's user
//   memory belongs to Linux and does not exist yet where /init starts (user.ts makes it afterwards).
import { mergeRanges, rangesMeet } from '../base/ranges.js';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Image } from '../elf/image.js';
import type { Script } from './workload/ast.js';
import { WorkloadRunner } from './workload/runner.js';
import { Platform, SLICE, type BootEvent, type PlatformOptions, type PlatformState } from './platform.js';
import { LinuxPlatform } from './linux/platform.js';
import { isLinuxImage, LINUX_FIXTURE_DIR } from './linux/bundle.js';
import { PERM_U, PAGE_SIZE, type Memory } from '../emu/memory.js';
import type { Cpu } from '../emu/cpu.js';
import type { Op } from '../emu/decode.js';
import { blockSources } from '../emu/compile.js';
import { cacheEnabled, checksum, openCacheReader, writeCache, type CacheReader } from '../cache.js';
import { builtFingerprint, PRINT_FILE } from './code-cache.js';

/** Bumped when the snapshot's layout changes. */
const FORMAT = 6;
/** Bytes after a host write that a later patch of the same probe may cover (jump optimization). */
const MAX_PATCH = 32;

export interface Snapshot {
  /** Guest instructions retired when boot ended. */
  instructions: number;
  pausedCpu: number;
  cpus: Record<string, unknown>[];
  machine: number[];
  platform: PlatformState;
  /** Saved pages: [base, perms] (bytes in `bytes`, PAGE_SIZE each, in this order); on real Linux,
   *  [physical address, 0] of the guest RAM pages that differ from what boot() writes (LinuxPlatform.saveRam:
   *  those it writes, the others where they are not all zeros). */
  pages: [number, number][];
  bytes: PageBytes;
  /** Code boot executed: sorted, merged [start, end) byte ranges. */
  executed: ArrayLike<number>;
  /** Code boot executed from the slice boundary where the kernel's text was patched (Platform.textPatched)
   *  on: where a probe armed only from there (text the kernel patches at boot) would have hit during boot. */
  executedLate: ArrayLike<number>;
  events: BootEvent[];
}

export interface SnapshotInputs {
  image: Image;
  /** The image's cache key (cache.ts imageKey) when its path is known; else its loaded bytes are hashed. */
  imageKey?: string;
  platform: PlatformOptions;
  slice?: number;
  user: { entry: number; stackTop: number };
  maxInsns: number;
}

// ---- encoding values that JSON does not carry (bigint, typed arrays, Infinity) ----
function enc(v: unknown): unknown {
  if (typeof v === 'bigint') return { $b: v.toString() };
  if (v instanceof Uint32Array) return { $u32: Array.from(v) };
  if (v instanceof Uint8Array) return { $u8: Array.from(v) };
  if (typeof v === 'number' && !Number.isFinite(v)) return { $n: String(v) };
  if (Array.isArray(v)) return v.map(enc);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) o[k] = enc(x);
    return o;
  }
  return v;
}
function dec(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dec);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('$b' in o) return BigInt(o.$b as string);
    if ('$u32' in o) return Uint32Array.from(o.$u32 as number[]);
    if ('$u8' in o) return Uint8Array.from(o.$u8 as number[]);
    if ('$n' in o) return Number(o.$n);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = dec(x);
    return out;
  }
  return v;
}

const CPU_SKIP = new Set(['mem', 'host', 'id']);
function saveCpu(c: Cpu): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(c)) if (!CPU_SKIP.has(k)) o[k] = (c as unknown as Record<string, unknown>)[k];
  return o;
}
function loadCpu(c: Cpu, o: Record<string, unknown>): void {
  const t = c as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    const cur = t[k];
    if (cur instanceof Uint32Array || cur instanceof Uint8Array) cur.set(v as ArrayLike<number>);
    else t[k] = v;
  }
}

/**
 * The saved pages' bytes: in memory (a snapshot just made), or in the cache entry, read as they are needed
 * (Linux's 2,800 pages go straight from the file into guest RAM: LinuxPlatform.restoreRam), each page
 * checked against its own CRC-32 as it is read. A page that does not check out makes `bad` true (the
 * entry is removed): the caller then makes the snapshot again (session.ts).
 */
export interface PageBytes {
  readonly count: number;
  /** Saved page i (PAGE_SIZE bytes; zeros when it does not check out). */
  page(i: number): Uint8Array;
  /** Pages [i, j) into `dst` ((j - i) * PAGE_SIZE bytes); false when one does not check out. */
  copy(i: number, j: number, dst: Uint8Array): boolean;
  /** A page read did not check out. */
  readonly bad: boolean;
  /** Done reading (the entry's file is closed). */
  close(): void;
}

/** Pages held in memory, PAGE_SIZE each in order. */
export function memoryPages(bytes: Uint8Array): PageBytes {
  return {
    count: bytes.length / PAGE_SIZE, bad: false,
    page: (i) => bytes.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE),
    copy: (i, j, dst) => { dst.set(bytes.subarray(i * PAGE_SIZE, j * PAGE_SIZE)); return true; },
    close: () => {},
  };
}

/** Pages in a cache entry from `at` of its payload, with their CRC-32s. */
function filePages(r: CacheReader, at: number, sums: Uint32Array): PageBytes {
  const read = new Map<number, Uint8Array>();
  const p: PageBytes & { bad: boolean } = {
    count: sums.length, bad: false,
    page(i) {
      let b = read.get(i);
      if (!b) {
        b = r.read(at + i * PAGE_SIZE, PAGE_SIZE);
        if (checksum(b) !== sums[i]) { fail(); b = new Uint8Array(PAGE_SIZE); }
        read.set(i, b);
      }
      return b;
    },
    copy(i, j, dst) {
      r.readInto(at + i * PAGE_SIZE, dst.subarray(0, (j - i) * PAGE_SIZE));
      for (let k = i; k < j; k++) {
        if (checksum(dst.subarray((k - i) * PAGE_SIZE, (k - i + 1) * PAGE_SIZE)) !== sums[k]) { fail(); return false; }
      }
      return true;
    },
    close: () => r.close(),
  };
  const fail = () => { if (!p.bad) { p.bad = true; r.drop(); } };
  return p;
}

// The layout: u32 length of the JSON meta, u32 CRC-32 of the head (from the meta to the pages' bytes),
// u32 0 twice, the meta (the state but the arrays below), padding to 8 bytes, u32 counts of the page list,
// executed and executedLate, u32 0, those three as float64 (pages flat: base, perms, ...), each page's
// CRC-32 (u32, padded to 8 bytes), then the pages' bytes. The long arrays stay out of the JSON: parsing and
// decoding them was a third of reading Linux's snapshot. The cache entry's own CRC-32 (cache.ts) covers
// the whole, but the entry is read in parts (openCacheReader): the head, then the pages as restore wants them.
const PRE = 16;
function serialize(s: Snapshot): Buffer {
  const meta = Buffer.from(JSON.stringify(enc({ ...s, bytes: undefined, pages: undefined, executed: undefined, executedLate: undefined })));
  const pad = (8 - ((PRE + meta.length) % 8)) % 8;
  const counts = Buffer.alloc(16);
  const lists = [Float64Array.from(s.pages.flat()), Float64Array.from(s.executed), Float64Array.from(s.executedLate)];
  lists.forEach((l, i) => counts.writeUInt32LE(l.length, 4 * i));
  const sums = new Uint32Array(s.pages.length + (s.pages.length % 2));
  for (let i = 0; i < s.pages.length; i++) sums[i] = checksum(s.bytes.page(i));
  const head = Buffer.concat([meta, Buffer.alloc(pad), counts, ...lists.map((l) => Buffer.from(l.buffer, l.byteOffset, l.byteLength)),
    Buffer.from(sums.buffer, sums.byteOffset, sums.byteLength)]);
  const pre = Buffer.alloc(PRE);
  pre.writeUInt32LE(meta.length, 0);
  pre.writeUInt32LE(checksum(head), 4);
  const bytes = Buffer.alloc(s.pages.length * PAGE_SIZE);
  if (s.pages.length) s.bytes.copy(0, s.pages.length, bytes);
  return Buffer.concat([pre, head, bytes]);
}

/** A snapshot's head from its entry (its pages left in the file: filePages), null when it does not check out. */
function deserialize(r: CacheReader): Snapshot | null {
  try {
    const pre = r.read(0, PRE);
    const n = pre.readUInt32LE(0), countsAt = PRE + n + ((8 - ((PRE + n) % 8)) % 8);
    if (countsAt + 16 > r.length) return null;
    const first = r.read(PRE, countsAt + 16 - PRE);
    const counts = [first.readUInt32LE(countsAt - PRE), first.readUInt32LE(countsAt - PRE + 4), first.readUInt32LE(countsAt - PRE + 8)];
    if (counts[0]! % 2) return null;
    const pageCount = counts[0]! / 2, sumsLen = (pageCount + (pageCount % 2)) * 4;
    const listsLen = (counts[0]! + counts[1]! + counts[2]!) * 8;
    const bytesAt = countsAt + 16 + listsLen + sumsLen;
    if (bytesAt + pageCount * PAGE_SIZE !== r.length) return null;
    const rest = r.read(countsAt + 16, listsLen + sumsLen);
    if (checksum(rest, checksum(first)) !== pre.readUInt32LE(4)) return null;
    const s = dec(JSON.parse(first.toString('utf8', 0, n))) as Snapshot;
    // (copies: the float64 arrays need 8-byte alignment; the page list by a plain loop: Array.from over a typed array takes its iterator path)
    let at = 0;
    const lists = counts.map((c) => { const l = new Float64Array(rest.buffer.slice(rest.byteOffset + at, rest.byteOffset + at + c * 8)); at += c * 8; return l; });
    const flat = lists[0]!;
    s.pages = new Array(pageCount);
    for (let i = 0; i < flat.length; i += 2) s.pages[i / 2] = [flat[i]!, flat[i + 1]!];
    s.executed = lists[1]!;
    s.executedLate = lists[2]!;
    const sums = new Uint32Array(rest.buffer.slice(rest.byteOffset + at, rest.byteOffset + at + pageCount * 4));
    s.bytes = filePages(r, bytesAt, sums);
    // the events' optional fields survive the round trip; the platform's lastKernelFault may be absent
    return s;
  } catch {
    return null;
  }
}
let buildPrint: string | undefined;
const HERE = (): string => dirname(fileURLToPath(import.meta.url));
/** The folders of the code a boot depends on: the emulator, the platforms, the workload runner. */
const BOOT_DIRS = (): string[] => { const here = HERE(); return [join(here, '..', 'emu'), here, join(here, 'workload'), join(here, 'linux')]; };
const jsFiles = (dir: string): string[] => { try { return readdirSync(dir).filter((f) => f.endsWith('.js')).sort(); } catch { return []; } };
/** A fingerprint of the code a boot depends on (the emulator and the platform), so a snapshot made by
 *  another build of ktrace is stale: the one `npm run build` wrote (writeBuiltBootPrint), while no module
 *  it covers is newer, else computed now (reads and hashes ~70 modules: 4-8 ms). */
function buildFingerprint(): string {
  return (buildPrint ??= builtBootPrint() ?? computeBootPrint());
}
/** The boot fingerprint the build wrote, undefined when there is none or a module it covers is newer. */
export function builtBootPrint(): string | undefined {
  const [emu, here, ...rest] = BOOT_DIRS();
  return builtFingerprint(here!, [emu!, ...rest].flatMap((d) => jsFiles(d).map((f) => join(d, f))));
}
export function computeBootPrint(): string {
  const h = createHash('sha256');
  for (const dir of BOOT_DIRS()) for (const f of jsFiles(dir)) { h.update(f); h.update(readFileSync(join(dir, f))); }
  return h.digest('hex').slice(0, 24);
}
/** Writes the boot fingerprint beside this module (fingerprint.json; scripts/emu-print.mjs, the build's last step). */
export function writeBuiltBootPrint(): void {
  writeFileSync(join(HERE(), PRINT_FILE), JSON.stringify({ fingerprint: computeBootPrint() }) + '\n');
}

function imageHash(image: Image): string {
  const h = createHash('sha256');
  h.update(String(image.header.entry));
  for (const s of image.segments) { h.update(`${s.vaddr}:${s.memsz}:${s.flags}`); h.update(image.fileBytes(s.offset, s.filesz)); }
  return 'seg-' + h.digest('hex').slice(0, 40);
}

function keyOf(inp: SnapshotInputs): { name: string; key: string } {
  const p = inp.platform;
  const key = JSON.stringify({
    format: FORMAT, build: buildFingerprint(), image: inp.imageKey ?? imageHash(inp.image), cpus: p.cpus, seed: p.seed,
    timerPeriod: p.timerPeriod ?? null, stallNs: p.stallNs ?? null, cmdline: p.cmdline ?? '', slice: inp.slice ?? SLICE,
    user: [inp.user.entry, inp.user.stackTop], linux: isLinuxImage(inp.image) ? linuxInputs() : null,
  });
  return { name: createHash('sha256').update(key).digest('hex').slice(0, 32), key };
}

let linuxPrint: string | undefined;
/** Real Linux boots from more than the image: the initramfs and ktrace's /init (fixtures/linux). */
function linuxInputs(): string {
  if (linuxPrint !== undefined) return linuxPrint;
  const h = createHash('sha256');
  for (const f of ['initramfs.cpio', 'init']) {
    try { h.update(f); h.update(readFileSync(join(LINUX_FIXTURE_DIR, f))); } catch { h.update('-'); }
  }
  return (linuxPrint = h.digest('hex').slice(0, 24));
}

/** A platform for `image`: real Linux's, or the miniature kernel's. */
export function newPlatform(image: Image, opts: PlatformOptions): Platform {
  return isLinuxImage(image) ? new LinuxPlatform(image, opts) : new Platform(image, opts);
}

function userDigest(mem: Memory): string {
  const h = createHash('sha256');
  for (const p of mem.allPages()) if (p.perms & PERM_U) { h.update(`${p.base}:${p.perms}`); if (p.materialized) h.update(p.u8); }
  return h.digest('hex');
}

/** Does [start, end) meet code the snapshot's boot executed? */
export function executedDuringBoot(s: Snapshot, start: number, end: number): boolean { return rangesMeet(s.executed, start, end); }

/** Boot a clean platform (nothing attached) to where /init starts and take its state; null when boot
 *  does not get there within the run's budget or does not leave the user pages alone. */
export function makeSnapshot(inp: SnapshotInputs, script: Script): Snapshot | null {
  // The block sources this boot generates are forgotten afterwards: later runs start from the snapshot and
  // never run boot, and the code entry (code-cache.ts) would otherwise fill its source budget with them
  // (Linux: a 5.0 instead of a 3.8 MB entry, parsed and compiled by every run)
  const known = new Set(blockSources.map.keys());
  try { return bootToInit(inp, script); }
  finally { for (const k of [...blockSources.map.keys()]) if (!known.has(k)) blockSources.map.delete(k); }
}

function bootToInit(inp: SnapshotInputs, script: Script): Snapshot | null {
  const p = newPlatform(inp.image, inp.platform);
  const linux = p instanceof LinuxPlatform;
  const runner = new WorkloadRunner(script, p);
  p.workload = runner;
  p.boot(runner.setup({ stub: !linux }));
  // RAM is saved as its difference from what boot() writes (a restored run's boot() writes it again)
  const bootPages = p instanceof LinuxPlatform ? p.bootPages() : undefined;
  const m = p.machine, mem = m.mem;
  const before = linux ? '' : userDigest(mem);
  const early = new Set<{ ops: Op[] } | Op>();
  let late = p.textPatched ? early : new Set<{ ops: Op[] } | Op>();
  m.entered = early;
  // from the slice boundary where the text is patched on, what runs is recorded apart too
  p.textPatchedHooks.push(() => { m.entered = late; });
  p.stopAtInit = true;
  while (!p.end && p.pausedCpu === null) p.runSlice(inp.maxInsns, inp.slice ?? SLICE);
  m.entered = null;
  if (p.end || p.pausedCpu === null) return null;
  if (!p.textPatched) late = new Set();
  if (!linux && userDigest(mem) !== before) return null;
  const rangesOf = (entered: Set<{ ops: Op[] } | Op>, ranges: [number, number][] = []) => {
    for (const x of entered) {
      if ('ops' in x) for (const op of x.ops) ranges.push([op.ip, op.ip + Math.max(op.len, 1)]);
      else ranges.push([x.ip, x.ip + Math.max(x.len, 1)]);
    }
    return ranges;
  };
  const lateRanges = rangesOf(late);
  const ranges = late === early ? lateRanges.slice() : rangesOf(early, lateRanges.slice());
  const pages: [number, number][] = [];
  let bytes: Uint8Array;
  if (linux) {
    const ram = p.saveRam(bootPages);
    for (const pa of ram.pages) pages.push([pa, 0]);
    bytes = ram.bytes;
  } else {
    const chunks: Uint8Array[] = [];
    for (const pg of mem.allPages()) {
      if (pg.perms & PERM_U || !pg.materialized) continue;
      pages.push([pg.base, pg.perms]);
      chunks.push(pg.u8);
    }
    bytes = new Uint8Array(chunks.length * PAGE_SIZE);
    chunks.forEach((c, i) => bytes.set(c, i * PAGE_SIZE));
  }
  return {
    instructions: p.instructions, pausedCpu: p.pausedCpu.id, cpus: m.cpus.map(saveCpu), machine: m.saveState(),
    platform: p.saveState(), pages, bytes: memoryPages(bytes), executed: mergeRanges(ranges), executedLate: mergeRanges(lateRanges), events: [...p.bootEvents],
  };
}

/**
 * The snapshot for these inputs: from the cache (its pages read as they are needed: close its `bytes` when
 * done), else made now (and cached).
 */
export function bootSnapshot(inp: SnapshotInputs, script: Script): Snapshot | null {
  if (!cacheEnabled()) return null;
  const { name, key } = keyOf(inp);
  const r = openCacheReader('snapshot', name, key);
  if (r) {
    const s = deserialize(r);
    if (s && s.cpus.length === inp.platform.cpus) return s;
    r.drop();
    r.close();
  }
  const s = makeSnapshot(inp, script);
  if (s) writeCache('snapshot', name, key, serialize(s));
  return s;
}

/** Why this run cannot start from the snapshot ('' when it can): what the upper layers changed before
 *  the machine ran (the host log) would have changed boot. */
export function refusal(s: Snapshot, p: Platform, log: HostLog, maxInsns: number): string {
  if (maxInsns < s.instructions) return 'the budget ends during boot';
  const counted = p.machine.countedAddresses;
  if (counted) for (const a of counted) if (rangesMeet(s.executed, a, a + 1)) return 'instruction executions are being counted in code boot executed';
  const mem = p.machine.mem;
  // saved page index by base, made when a write needs it (Linux's 2,800 pages: most runs write none there)
  let index: Map<number, number> | undefined;
  const saved = (): Map<number, number> => {
    if (index) return index;
    index = new Map();
    for (let i = 0; i < s.pages.length; i++) index.set(s.pages[i]![0], i);
    return index;
  };
  // a patch an upper layer will make once boot is under way (an ftrace-path probe waiting for the
  // kernel's nop): on code boot ran, it would have happened during boot
  for (const e of log) if (e.pending && rangesMeet(e.late ? s.executedLate : s.executed, e.addr, e.addr + e.len + MAX_PATCH)) return 'a probe lies in code boot executed';
  log = log.filter((e) => !e.pending);
  if (p instanceof LinuxPlatform) return linuxRefusal(s, p, log, saved);
  for (const e of log) {
    if (e.old === null) {
      for (let a = e.addr; a < e.addr + e.len; a += PAGE_SIZE) if (saved().has(a)) return 'a page boot used was remapped';
      continue;
    }
    if (rangesMeet(s.executed, e.addr, e.addr + e.len + MAX_PATCH)) return 'a probe lies in code boot executed';
    // boot must not have changed the bytes that were written (they are written back over the snapshot)
    for (let k = 0; k < e.len; k++) {
      const a = e.addr + k, i = saved().get(a - (a & 4095));
      if (i === undefined) { if (!mem.page(a)) return 'a write to an unmapped page'; continue; }
      if (s.bytes.page(i)[a & 4095] !== e.old[k]) return 'boot changed bytes a probe wrote';
    }
  }
  for (const [base] of s.pages) if (!mem.page(base)) return 'the snapshot has a page this machine lacks';
  return '';
}

/** refusal() on real Linux: the writes are checked against RAM by physical address. */
function linuxRefusal(s: Snapshot, p: LinuxPlatform, log: HostLog, saved: () => Map<number, number>): string {
  // A page the snapshot lacks holds there what boot() wrote: each byte as the first write found it
  const bootByte = new Map<number, number>();
  for (const e of log) {
    if (e.old === null) continue;
    for (let k = 0; k < e.len; k++) {
      const pa = p.imagePhys(e.addr + k);
      if (pa !== undefined && !bootByte.has(pa)) bootByte.set(pa, e.old[k]!);
    }
  }
  for (const e of log) {
    if (rangesMeet(s.executed, e.addr, e.addr + e.len + (e.old === null ? 0 : MAX_PATCH))) {
      return e.old === null ? 'a page boot used was remapped' : 'a probe lies in code boot executed';
    }
    if (e.old === null) {
      if (p.imagePhys(e.addr) !== undefined || p.imagePhys(e.addr + e.len - 1) !== undefined) return 'a page of the kernel image was remapped';
      continue;
    }
    for (let k = 0; k < e.len; k++) {
      const pa = p.imagePhys(e.addr + k);
      if (pa === undefined) continue; // ktrace's own memory (probe slots), outside guest RAM
      const i = saved().get(pa - (pa & 4095));
      const b = i === undefined ? bootByte.get(pa) : s.bytes.page(i)[pa & 4095];
      if (b !== e.old[k]) return 'boot changed bytes a probe wrote';
    }
  }
  return '';
}

/** Host writes (Memory.hostLog); `pending`: a patch to come once boot is under way, `late` once the kernel's
 *  text is patched (Platform.textPatched), so only code boot ran from there on matters. */
type HostLog = { addr: number; len: number; old: Uint8Array | null; pending?: boolean; late?: boolean }[];

/**
 * Put the platform (booted to its entry point, upper layers attached, `log` being what they wrote) in the
 * snapshot's state: /init's first host call pending. The caller checked refusal() first. False: a saved
 * page did not check out (the entry is gone; the platform is as it was: boot it cold, or from a new snapshot).
 */
export function restore(p: Platform, s: Snapshot, log: HostLog, slice = SLICE): boolean {
  const m = p.machine, mem = m.mem;
  const keep = log.filter((e) => e.old !== null && !e.pending).map((e) => ({ addr: e.addr, bytes: mem.readBytes(e.addr, e.len) }));
  if (p instanceof LinuxPlatform) {
    const ok = p.restoreRam(s.pages.map(([pa]) => pa), (i, j, dst) => s.bytes.copy(i, j, dst));
    for (const k of keep) {
      for (let i = 0; i < k.bytes.length; i++) {
        const pa = p.imagePhys(k.addr + i);
        if (pa !== undefined) p.ram[pa] = k.bytes[i];
      }
    }
    mem.flushTlb();
    if (!ok) return false;
  } else {
    const all = new Uint8Array(s.pages.length * PAGE_SIZE);
    if (s.pages.length && !s.bytes.copy(0, s.pages.length, all)) return false;
    s.pages.forEach(([base, perms], i) => mem.restorePage(base, perms, all.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE)));
    mem.flushTlb();
    for (const k of keep) mem.writeBytes(k.addr, k.bytes);
  }
  m.cpus.forEach((c, i) => loadCpu(c, s.cpus[i]));
  m.loadState(s.machine);
  p.loadState(s.platform);
  mem.smc = 0;
  // replay what ran during boot in the upper layers, at the guest clock it ran at
  const real = m.cpus.map((c) => [c.instret, c.idleNs, c.probeInstret]);
  // writes from the point the kernel's text was patched on only meet code boot ran from there on
  const replayed: HostLog = [], replayedLate: HostLog = [];
  mem.hostLog = replayed;
  p.textPatched = !s.events.some((e) => e.kind === 'textPatched');
  try {
    for (const e of s.events) {
      m.cpus.forEach((c, i) => { [c.instret, c.idleNs, c.probeInstret] = e.clocks[i]; });
      if (e.kind === 'slice') for (const h of p.sliceHooks) h();
      else if (e.kind === 'initFreed') for (const h of p.initFreedHooks) h();
      else {
        p.textPatched = true;
        mem.hostLog = replayedLate;
        for (const h of p.textPatchedHooks) h();
      }
    }
  } finally {
    m.cpus.forEach((c, i) => { [c.instret, c.idleNs, c.probeInstret] = real[i]; });
  }
  mem.hostLog = null;
  p.textPatched = true;
  for (const e of [...replayed, ...replayedLate]) {
    if (e.old !== null && rangesMeet(replayedLate.includes(e) ? s.executedLate : s.executed, e.addr, e.addr + e.len)) {
      throw new Error(`boot snapshot: a delayed patch at 0x${e.addr.toString(16)} lands on code boot executed (run with --no-snapshot)`);
    }
  }
  p.initStarted = true;
  p.pausedCpu = m.cpus[s.pausedCpu];
  p.initSliceEnd = Math.ceil(s.instructions / slice) * slice;
  return true;
}
