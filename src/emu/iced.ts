// iced-x86, loaded on first use. Its enum values come from iced-enums.ts (generated from iced-x86 by
// scripts/iced-enums.mjs, checked against it by test/emu/iced-enums.test.ts), so importing this module
// costs nothing: a run whose instructions all come from the code cache (kernel/code-cache.ts) never
// loads iced-x86's 0.9 MB of JavaScript and its WebAssembly (~40 ms and ~19 MB of a short run). The
// classes (Decoder, Instruction, Encoder, ...) are stand-ins that load it when first constructed or
// read. It is loaded with require(): an ESM `import` of this CommonJS module makes Node scan its source
// for export names first (cjs-module-lexer: ~100 ms). Every src/ module takes iced-x86 from here.
import { createRequire } from 'node:module';
import { createHash } from '../base/crypto.js';
import type * as Iced from 'iced-x86';
import * as E from './iced-enums.js';

let icedModule: typeof Iced | null = null;
function load(): typeof Iced {
  if (icedModule) return icedModule;
  // bin/ktrace's loader offers the same module prepared for a short run (scripts/bundle-cli.mjs
  // prepareIced: enums built when first read, its code-cached top level ~5x smaller).
  const prepared = (globalThis as { [k: symbol]: unknown })[Symbol.for('ktrace.loadIced')];
  return icedModule = (typeof prepared === 'function' ? prepared() as typeof Iced | undefined : undefined)
    ?? createRequire(import.meta.url)('iced-x86') as typeof Iced;
}
/**
 * Starts compiling iced-x86's WebAssembly off the main thread, for a command that will load iced once
 * other work is done (bin/ktrace's loader only; elsewhere nothing to do): load() after the promise
 * settles takes the compiled module instead of compiling it then.
 */
export function icedAhead(): Promise<void> {
  const ahead = (globalThis as { [k: symbol]: unknown })[Symbol.for('ktrace.icedAhead')];
  return icedModule === null && typeof ahead === 'function' ? ahead() as Promise<void> : Promise.resolve();
}
/** Has iced-x86 been loaded in this process (tests: a warm start does not)? */
export function icedLoaded(): boolean { return icedModule !== null; }

/** iced's class or function `name`, loaded when first constructed, called or read. */
function lazy<T extends object>(name: keyof typeof Iced): T {
  return new Proxy(function () { /* stand-in */ } as unknown as T, {
    construct: (_t, args) => Reflect.construct(load()[name] as unknown as new (...a: unknown[]) => object, args),
    apply: (_t, self, args) => Reflect.apply(load()[name] as unknown as (...a: unknown[]) => unknown, self, args),
    get: (_t, k) => Reflect.get(load()[name] as object, k),
  });
}

/** The whole module (loaded on first property read). */
const iced = new Proxy({} as typeof Iced, { get: (_t, k) => Reflect.get(load(), k) });
export default iced;

export const BlockEncoder = lazy<typeof Iced.BlockEncoder>('BlockEncoder');
export const Decoder = lazy<typeof Iced.Decoder>('Decoder');
export const Encoder = lazy<typeof Iced.Encoder>('Encoder');
export const Formatter = lazy<typeof Iced.Formatter>('Formatter');
export const Instruction = lazy<typeof Iced.Instruction>('Instruction');
export const MemoryOperand = lazy<typeof Iced.MemoryOperand>('MemoryOperand');
export const MemorySizeExt = lazy<typeof Iced.MemorySizeExt>('MemorySizeExt');
export const InstructionInfoFactory = lazy<typeof Iced.InstructionInfoFactory>('InstructionInfoFactory');

export const BlockEncoderOptions = E.BlockEncoderOptions as unknown as typeof Iced.BlockEncoderOptions;
export const ConditionCode = E.ConditionCode as unknown as typeof Iced.ConditionCode;
export const DecoderOptions = E.DecoderOptions as unknown as typeof Iced.DecoderOptions;
export const FlowControl = E.FlowControl as unknown as typeof Iced.FlowControl;
export const FormatterSyntax = E.FormatterSyntax as unknown as typeof Iced.FormatterSyntax;
export const InstructionInfoOptions = E.InstructionInfoOptions as unknown as typeof Iced.InstructionInfoOptions;
export const Mnemonic = E.Mnemonic as unknown as typeof Iced.Mnemonic;
export const OpAccess = E.OpAccess as unknown as typeof Iced.OpAccess;
export const OpKind = E.OpKind as unknown as typeof Iced.OpKind;
export const Register = E.Register as unknown as typeof Iced.Register;
export const RflagsBits = E.RflagsBits as unknown as typeof Iced.RflagsBits;
/** Only the members ktrace names (iced's Code has ~5,000): a new one needs scripts/iced-enums.mjs run again. */
export const Code = E.Code as unknown as Pick<typeof Iced.Code, keyof typeof E.Code>;

export type BlockEncoder = Iced.BlockEncoder;
export type BlockEncoderOptions = Iced.BlockEncoderOptions;
export type Code = Iced.Code;
export type ConditionCode = Iced.ConditionCode;
export type Decoder = Iced.Decoder;
export type DecoderOptions = Iced.DecoderOptions;
export type Encoder = Iced.Encoder;
export type FlowControl = Iced.FlowControl;
export type Formatter = Iced.Formatter;
export type FormatterSyntax = Iced.FormatterSyntax;
export type Instruction = Iced.Instruction;
export type MemoryOperand = Iced.MemoryOperand;
export type Mnemonic = Iced.Mnemonic;
export type OpAccess = Iced.OpAccess;
export type OpKind = Iced.OpKind;
export type Register = Iced.Register;
export type RflagsBits = Iced.RflagsBits;
export type InstructionInfoFactory = Iced.InstructionInfoFactory;
export type InstructionInfoOptions = Iced.InstructionInfoOptions;

let scratch: Iced.Instruction | null = null;

/** The shared scratch Instruction (made on first use) that decodeAt fills; a walker's Decoder may decodeOut into it. */
export function scratchInstruction(): Iced.Instruction { return scratch ??= new Instruction(); }

/**
 * Decodes one instruction from `bytes` as if it sat at `ip` (a 16-, 32- or 64-bit code segment). The
 * result is one shared scratch Instruction, made on first use (so importing this module loads no
 * iced-x86) and overwritten by the next call: read what you need from it before decoding again.
 */
export function decodeAt(bytes: Uint8Array, ip: number, bits: 16 | 32 | 64 = 64): Iced.Instruction {
  const d = new Decoder(bits, bytes, DecoderOptions.None);
  try {
    d.ip = BigInt.asUintN(64, BigInt(ip));
    const i = scratchInstruction();
    d.decodeOut(i);
    return i;
  } finally { d.free(); }
}

// ---- remembered results ----
// What the kprobe layer computes with iced from given bytes (an instruction's facts and text, its copy
// relocated to a slot, the instructions of a function, detours, rel32 jumps) is a pure function of the
// addresses and bytes it was computed from: kept by that key, in-process and across runs with the code
// cache (kernel/code-cache.ts), so that a warm run's probes need no iced-x86 either. Values are JSON
// (numbers, strings, booleans, arrays, plain objects) and frozen: a caller builds its own objects from them.

/** Results by key; `learned` counts those computed in this process (is the code cache entry stale?). */
export const icedMemo = { map: new Map<string, unknown>(), learned: 0 };
/** Most results kept (a run uses a few dozen: one per probed instruction and function). */
const MEMO_MAX = 8192;

function freeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) freeze(x);
  }
  return v;
}

/** compute()'s value for `key` (computed once: a pure function of the key). */
export function memoIced<T>(key: string, compute: () => T): Readonly<T> {
  const m = icedMemo.map;
  const known = m.get(key);
  if (known !== undefined) return freeze(known) as T;
  const v = freeze(compute());
  if (m.size >= MEMO_MAX) m.delete(m.keys().next().value as string);
  m.set(key, v);
  icedMemo.learned++;
  return v;
}

/** Bytes as hex, for keys. */
export function hexKey(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

/** A digest of bytes, for keys over long runs of them (a function's). */
export function digestKey(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('base64');
}
