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
import { readdirSync, readFileSync } from 'node:fs';
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
import { cacheEnabled, readCache, writeCache } from '../cache.js';

/** Bumped when the snapshot's layout changes. */
const FORMAT = 5;
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
  bytes: Uint8Array;
  /** Code boot executed: sorted, merged [start, end) byte ranges. */
  executed: number[];
  /** Code boot executed from the slice boundary where the kernel's text was patched (Platform.textPatched)
   *  on: where a probe armed only from there (text the kernel patches at boot) would have hit during boot. */
  executedLate: number[];
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

// The layout: u32 length of the JSON meta, the meta (the state but the arrays below), padding to 8 bytes,
// u32 counts of the page list, executed and executedLate, u32 0, those three as float64 (pages flat:
// base, perms, ...), then the pages' bytes. The long arrays stay out of the JSON: parsing and decoding
// them was a third of reading Linux's snapshot.
function serialize(s: Snapshot): Buffer {
  const meta = Buffer.from(JSON.stringify(enc({ ...s, bytes: undefined, pages: undefined, executed: undefined, executedLate: undefined })));
  const head = Buffer.alloc(4 + meta.length + ((8 - ((4 + meta.length) % 8)) % 8) + 16);
  head.writeUInt32LE(meta.length, 0);
  meta.copy(head, 4);
  const lists = [Float64Array.from(s.pages.flat()), Float64Array.from(s.executed), Float64Array.from(s.executedLate)];
  lists.forEach((l, i) => head.writeUInt32LE(l.length, head.length - 16 + 4 * i));
  return Buffer.concat([head, ...lists.map((l) => Buffer.from(l.buffer, l.byteOffset, l.byteLength)), s.bytes]);
}
function deserialize(b: Buffer): Snapshot | null {
  try {
    const n = b.readUInt32LE(0);
    const s = dec(JSON.parse(b.toString('utf8', 4, 4 + n))) as Snapshot;
    let at = 4 + n + ((8 - ((4 + n) % 8)) % 8);
    const counts = [b.readUInt32LE(at), b.readUInt32LE(at + 4), b.readUInt32LE(at + 8)];
    at += 16;
    const lists = counts.map((c) => {
      if (at + c * 8 > b.length) throw new RangeError('truncated');
      const l = new Float64Array(b.buffer.slice(b.byteOffset + at, b.byteOffset + at + c * 8));
      at += c * 8;
      return l;
    });
    const flat = lists[0]!;
    if (flat.length % 2) return null;
    // (plain loops: Array.from over a typed array takes its iterator path, 5-15 ms for these)
    s.pages = new Array(flat.length / 2);
    for (let i = 0; i < flat.length; i += 2) s.pages[i / 2] = [flat[i]!, flat[i + 1]!];
    const plain = (l: Float64Array) => { const a: number[] = new Array(l.length); for (let i = 0; i < l.length; i++) a[i] = l[i]!; return a; };
    s.executed = plain(lists[1]!);
    s.executedLate = plain(lists[2]!);
    s.bytes = new Uint8Array(b.buffer, b.byteOffset + at, b.length - at);
    if (s.bytes.length !== s.pages.length * PAGE_SIZE) return null;
    // the events' optional fields survive the round trip; the platform's lastKernelFault may be absent
    return s;
  } catch {
    return null;
  }
}
let buildPrint: string | undefined;
/** A fingerprint of the code a boot depends on (the emulator and the platform), so a snapshot made by
 *  another build of ktrace is stale. */
function buildFingerprint(): string {
  if (buildPrint !== undefined) return buildPrint;
  const h = createHash('sha256');
  const here = dirname(fileURLToPath(import.meta.url));
  for (const dir of [join(here, '..', 'emu'), here, join(here, 'workload'), join(here, 'linux')]) {
    let names: string[];
    try { names = readdirSync(dir).filter((f) => f.endsWith('.js')).sort(); } catch { continue; }
    for (const f of names) { h.update(f); h.update(readFileSync(join(dir, f))); }
  }
  return (buildPrint = h.digest('hex').slice(0, 24));
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
    platform: p.saveState(), pages, bytes, executed: mergeRanges(ranges), executedLate: mergeRanges(lateRanges), events: [...p.bootEvents],
  };
}

/** The snapshot for these inputs: from the cache, else made now (and cached). */
export function bootSnapshot(inp: SnapshotInputs, script: Script): Snapshot | null {
  if (!cacheEnabled()) return null;
  const { name, key } = keyOf(inp);
  const hit = readCache('snapshot', name, key);
  if (hit) {
    const s = deserialize(hit);
    if (s && s.cpus.length === inp.platform.cpus) return s;
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
  const saved = new Map<number, number>();
  s.pages.forEach(([base], i) => saved.set(base, i));
  // a patch an upper layer will make once boot is under way (an ftrace-path probe waiting for the
  // kernel's nop): on code boot ran, it would have happened during boot
  for (const e of log) if (e.pending && rangesMeet(e.late ? s.executedLate : s.executed, e.addr, e.addr + e.len + MAX_PATCH)) return 'a probe lies in code boot executed';
  log = log.filter((e) => !e.pending);
  if (p instanceof LinuxPlatform) return linuxRefusal(s, p, log, saved);
  for (const e of log) {
    if (e.old === null) {
      for (let a = e.addr; a < e.addr + e.len; a += PAGE_SIZE) if (saved.has(a)) return 'a page boot used was remapped';
      continue;
    }
    if (rangesMeet(s.executed, e.addr, e.addr + e.len + MAX_PATCH)) return 'a probe lies in code boot executed';
    // boot must not have changed the bytes that were written (they are written back over the snapshot)
    for (let k = 0; k < e.len; k++) {
      const a = e.addr + k, i = saved.get(a - (a & 4095));
      if (i === undefined) { if (!mem.page(a)) return 'a write to an unmapped page'; continue; }
      if (s.bytes[i * PAGE_SIZE + (a & 4095)] !== e.old[k]) return 'boot changed bytes a probe wrote';
    }
  }
  for (const [base] of s.pages) if (!mem.page(base)) return 'the snapshot has a page this machine lacks';
  return '';
}

/** refusal() on real Linux: the writes are checked against RAM by physical address. */
function linuxRefusal(s: Snapshot, p: LinuxPlatform, log: HostLog, saved: Map<number, number>): string {
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
      const i = saved.get(pa - (pa & 4095));
      const b = i === undefined ? bootByte.get(pa) : s.bytes[i * PAGE_SIZE + (pa & 4095)];
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
 * snapshot's state: /init's first host call pending. The caller checked refusal() first.
 */
export function restore(p: Platform, s: Snapshot, log: HostLog, slice = SLICE): void {
  const m = p.machine, mem = m.mem;
  const keep = log.filter((e) => e.old !== null && !e.pending).map((e) => ({ addr: e.addr, bytes: mem.readBytes(e.addr, e.len) }));
  if (p instanceof LinuxPlatform) {
    p.restoreRam(s.pages.map(([pa]) => pa), s.bytes);
    for (const k of keep) {
      for (let i = 0; i < k.bytes.length; i++) {
        const pa = p.imagePhys(k.addr + i);
        if (pa !== undefined) p.ram[pa] = k.bytes[i];
      }
    }
    mem.flushTlb();
  } else {
    s.pages.forEach(([base, perms], i) => mem.restorePage(base, perms, s.bytes.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE)));
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
}
