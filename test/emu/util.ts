// Shared test setup for the emulator tests: a kernel-mode code page, data and a stack, all at
// ktrace-pc-like addresses (signed canonical numbers).
import { Machine } from '../../src/emu/machine.js';
import { Cpu, Reg } from '../../src/emu/cpu.js';
import { FAULT, PERM_R, PERM_W, PERM_X } from '../../src/emu/memory.js';
import { toAddr } from '../../src/base/addr.js';
import { disassemble } from '../../src/emu/decode.js';
import { wasmTier } from '../../src/emu/wasm.js';

export const CODE = toAddr(0xffffffff81000000n);
export const DATA = toAddr(0xffff888000000000n);
export const STACK_TOP = toAddr(0xffff888000100000n);

export function hexBytes(h: string): Uint8Array {
  const s = h.replace(/\s+/g, '');
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export interface Env { m: Machine; c: Cpu; }
/** A machine whose CPU 0 is at CODE (kernel mode, IF=0) with `code` loaded, DATA (64 KiB) and a stack. */
export function setup(code: string | Uint8Array, opts: { cpus?: number; seed?: number } = {}): Env {
  const m = new Machine({ cpus: opts.cpus ?? 1, seed: opts.seed });
  m.mem.map(CODE, 0x4000, PERM_R | PERM_X);
  m.mem.writeBytes(CODE, typeof code === 'string' ? hexBytes(code) : code);
  m.mem.map(DATA, 0x10000, PERM_R | PERM_W);
  m.mem.map(STACK_TOP - 0x10000, 0x10000, PERM_R | PERM_W);
  for (const c of m.cpus) { c.rip = CODE; c.setRegNum(Reg.RSP, STACK_TOP - 0x100); }
  return { m, c: m.cpus[0] };
}

/** Run a guest-access thunk; the fault it raised (vector, error code, address) or null. */
export function faultOf(c: { trapVector: number; errorCode: number; faultAddr: number }, fn: () => void): { vector: number; err: number; addr: number } | null {
  try { fn(); return null; }
  catch (e) { if (e !== FAULT) throw e; return { vector: c.trapVector, err: c.errorCode, addr: c.faultAddr }; }
}

/** The disassembly of the bytes at `addr` (tests check the encodings they hand-assemble). */
export function dis(env: Env, addr: number): string { return disassemble(env.m.mem.readBytes(addr, 15), addr); }

/** Run `fn` with wasm.ts's tier forced on (a region on every compiled block's first entry) or off. */
export function wasmForced<T>(on: boolean, fn: () => T): T {
  const saved = { ...wasmTier };
  Object.assign(wasmTier, on ? { on: true, hot: 1, maxRegion: 8 } : { on: false });
  try { return fn(); } finally { Object.assign(wasmTier, { on: saved.on, hot: saved.hot, maxRegion: saved.maxRegion }); }
}

export { Reg, toAddr };
