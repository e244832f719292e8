// The host-CPU differential test's case and result format, shared by the generator, the native harness driver,
// the emulator runner and the committed corpus (fixtures/hostdiff/corpus.jsonl.gz).
//
// A case is small on disk: the registers and the data window not named explicitly are filled from `seed` by
// `expandInput` (a fixed mulberry32 stream), so a corpus line carries only the instruction bytes, the operand
// values the generator chose, and the host's answer as a diff against the input.
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { mulberry32 } from '../../prng.js';

/** Fixed addresses shared by the native harness (harness.c) and the emulator side. */
export const CODE_ADDR = 0x10000000;
export const PAGE_SIZE = 4096;
/**
 * The data region: two pages at DATA_MAP. Case offsets are relative to DATA_ADDR, which sits 160 bytes below
 * the page boundary, so memory operands and string runs near offset 160 straddle two pages (the TLB's slow path).
 */
export const DATA_MAP = 0x1000f000;
export const DATA_SIZE = 2 * PAGE_SIZE;
export const DATA_SKEW = PAGE_SIZE - 160;
export const DATA_ADDR = DATA_MAP + DATA_SKEW;
/** GS base on both sides (arch_prctl(ARCH_SET_GS) natively): GS-prefixed operands reach the data region. */
export const GS_BASE = DATA_ADDR - 0x8000;
/** Bytes from DATA_ADDR filled with seeded random bytes; the rest of the region starts zeroed. */
export const DATA_WINDOW = 512;
/** RFLAGS bits a case may start with: CF PF AF ZF SF DF OF, plus the always-one bit 1 and IF (user mode). */
export const FLAGS_RANDOM_MASK = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x400 | 0x800;
export const FLAGS_FIXED = 0x202;

export const REG_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
  'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

export interface CaseInput {
  /** iced-x86 Code name, plus a prefix variant for string instructions (e.g. `Movsb_m8_m8/rep`). */
  form: string;
  /** Instruction bytes (hex), encoded by iced-x86 at CODE_ADDR. */
  code: string;
  /** Seed for the registers and data bytes not given explicitly. */
  seed: number;
  /** Explicit 64-bit register values (hex), keyed by register number (RAX=0 .. R15=15). */
  regs: Record<string, string>;
  /** Initial RFLAGS. */
  flags: number;
  /** Explicit data bytes: [offset from DATA_ADDR, hex bytes], applied in order after the seeded fill. */
  mem: [number, string][];
}

/**
 * What the host did: fell through with this state (diffs against the input; `mem` offsets here index the whole
 * data region, from DATA_MAP), or raised a signal.
 */
export type CaseOutput = HostDone | HostFault;
export interface HostDone { ok: true; flags: number; regs: Record<string, string>; mem: [number, string][] }
/** An exception: the signal, the faulting RIP (offset from CODE_ADDR), the vector, error code and CR2 (meaningful
 *  for #PF) from the signal frame, and the architectural state at the fault as a diff like HostDone's. */
export interface HostFault {
  ok: false; sig: number; rip: number; vector: number; err: number; addr: number;
  flags: number; regs: Record<string, string>; mem: [number, string][];
}

export interface CorpusEntry extends CaseInput { out: CaseOutput }

/** `data` is the whole data region (DATA_SIZE bytes from DATA_MAP). */
export interface Expanded { regs: bigint[]; flags: number; data: Uint8Array }

export interface MachineState { regs: bigint[]; flags: number; data: Uint8Array }

/** mulberry32 (test/prng.ts): the corpus depends on its fixed output stream. */
export { mulberry32 };

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

export function bytesToHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}

/** The full input state of a case: 16 registers, RFLAGS, and the data page. */
export function expandInput(c: CaseInput): Expanded {
  const rnd = mulberry32(c.seed);
  const regs: bigint[] = [];
  for (let i = 0; i < 16; i++) {
    const hi = BigInt(rnd()), lo = BigInt(rnd());
    regs.push((hi << 32n) | lo);
  }
  for (const [k, v] of Object.entries(c.regs)) regs[+k] = BigInt('0x' + v);
  const data = new Uint8Array(DATA_SIZE);
  for (let i = DATA_SKEW; i < DATA_SKEW + DATA_WINDOW; i += 4) {
    const w = rnd();
    data[i] = w & 0xff; data[i + 1] = (w >>> 8) & 0xff; data[i + 2] = (w >>> 16) & 0xff; data[i + 3] = w >>> 24;
  }
  for (const [off, hex] of c.mem) data.set(hexToBytes(hex), off + DATA_SKEW);
  return { regs, flags: c.flags, data };
}

/** Encodes a final state as a diff against the expanded input. */
export function diffOutput(input: Expanded, after: MachineState): HostDone {
  const regs: Record<string, string> = {};
  for (let i = 0; i < 16; i++) if (after.regs[i] !== input.regs[i]) regs[i] = after.regs[i].toString(16);
  const mem: [number, string][] = [];
  for (let i = 0; i < DATA_SIZE; i++) {
    if (after.data[i] === input.data[i]) continue;
    let j = i;
    while (j < DATA_SIZE && after.data[j] !== input.data[j]) j++;
    mem.push([i, bytesToHex(after.data.subarray(i, j))]);
    i = j;
  }
  return { ok: true, flags: after.flags, regs, mem };
}

/** Applies a diff to the expanded input: the full expected final state. */
export function applyOutput(input: Expanded, out: { flags: number; regs: Record<string, string>; mem: [number, string][] }): MachineState {
  const regs = input.regs.slice();
  for (const [k, v] of Object.entries(out.regs)) regs[+k] = BigInt('0x' + v);
  const data = input.data.slice();
  for (const [off, hex] of out.mem) data.set(hexToBytes(hex), off);
  return { regs, flags: out.flags, data };
}

export function writeCorpus(path: string, entries: CorpusEntry[], header: Record<string, unknown>): void {
  const lines = [JSON.stringify({ header }), ...entries.map((e) => JSON.stringify(e))];
  writeFileSync(path, gzipSync(Buffer.from(lines.join('\n') + '\n'), { level: 9 }));
}

export function readCorpus(path: string): { header: Record<string, unknown>; entries: CorpusEntry[] } {
  const text = gunzipSync(readFileSync(path)).toString('utf8');
  const lines = text.split('\n').filter((l) => l.length > 0);
  const header = JSON.parse(lines[0]).header as Record<string, unknown>;
  return { header, entries: lines.slice(1).map((l) => JSON.parse(l) as CorpusEntry) };
}
