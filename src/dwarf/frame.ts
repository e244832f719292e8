// Call frame information: .debug_frame (DWARF 5 §6.4) and .eh_frame (LSB Core, "Exception Frames").
// Entries are indexed on first use; `unwindRowAt(pc)` runs the CIE's and FDE's instructions up to the PC
// and returns the CFA rule — what DW_OP_call_frame_cfa needs — plus the register rules.
import { DW_CFA, DW_EH_PE } from './constants.js';
import { fail, type SectionName } from './error.js';
import { Reader } from './reader.js';

export interface Cie {
  readonly offset: number;
  readonly version: number;
  readonly augmentation: string;
  readonly addrSize: number;
  readonly codeAlign: number;
  readonly dataAlign: number;
  readonly raReg: number;
  readonly fdeEncoding: number;
  readonly lsdaEncoding: number;
  readonly signalFrame: boolean;
  readonly instructions: Uint8Array;
  /** Absolute section offset of `instructions` (for error messages). */
  readonly instructionsOffset: number;
}
export interface Fde {
  readonly offset: number;
  readonly cie: Cie;
  readonly low: number;
  readonly high: number;
  readonly instructions: Uint8Array;
  readonly instructionsOffset: number;
}

export type CfaRule =
  | { readonly kind: 'reg-offset'; readonly reg: number; readonly offset: number }
  | { readonly kind: 'expression'; readonly expr: Uint8Array };

export type RegisterRule =
  | { readonly kind: 'undefined' } | { readonly kind: 'same-value' }
  | { readonly kind: 'offset'; readonly offset: number } | { readonly kind: 'val-offset'; readonly offset: number }
  | { readonly kind: 'register'; readonly reg: number }
  | { readonly kind: 'expression'; readonly expr: Uint8Array } | { readonly kind: 'val-expression'; readonly expr: Uint8Array };

export interface UnwindRow {
  readonly fde: Fde;
  /** Start of the row (the PC where these rules begin to hold). */
  readonly start: number;
  readonly cfa: CfaRule;
  readonly rules: ReadonlyMap<number, RegisterRule>;
}

export interface FrameOptions {
  /** Virtual address of the section's first byte (needed for .eh_frame's pc-relative pointers). */
  readonly sectionAddress?: number;
  readonly addrSize?: number;
}

export class FrameTable {
  private fdes: Fde[] | null = null;
  private readonly cies = new Map<number, Cie>();
  private readonly isEh: boolean;
  constructor(private readonly buf: Uint8Array, readonly section: '.debug_frame' | '.eh_frame', private readonly opts: FrameOptions = {}) {
    this.isEh = section === '.eh_frame';
  }

  /** Every FDE, sorted by start address (parsed on first call). */
  entries(): Fde[] {
    if (this.fdes) return this.fdes;
    const out: Fde[] = [];
    const r = new Reader(this.buf, this.section);
    while (r.remaining > 0) {
      const offset = r.pos;
      const [length, offsetSize] = r.initialLength();
      if (length === 0) { if (this.isEh) break; else continue; } // .eh_frame terminator
      if (length > r.remaining) fail(this.section, offset, 'CFI entry length runs past the section');
      const end = r.pos + length;
      const idPos = r.pos;
      const id = r.offset(offsetSize);
      const isCie = this.isEh ? id === 0 : (offsetSize === 4 ? id === 0xffffffff : id === -1);
      if (!isCie) {
        const cieOff = this.isEh ? idPos - id : id;
        const cie = this.cieAt(cieOff);
        out.push(this.parseFde(offset, r.pos, end, cie));
      }
      r.pos = end;
    }
    out.sort((a, b) => a.low - b.low);
    this.fdes = out;
    return out;
  }

  /** The FDE covering `pc`, if any. */
  fdeFor(pc: number): Fde | undefined {
    const f = this.entries();
    let lo = 0, hi = f.length - 1, best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (f[mid]!.low <= pc) { best = mid; lo = mid + 1; } else hi = mid - 1;
    }
    // FDEs may overlap only when malformed; scan back a little for one that contains pc.
    for (let i = best; i >= 0 && i > best - 8; i--) if (pc >= f[i]!.low && pc < f[i]!.high) return f[i];
    return undefined;
  }

  /** The unwind rules in effect at `pc` (DWARF 5 §6.4.3), or undefined when no FDE covers it. */
  unwindRowAt(pc: number): UnwindRow | undefined {
    const fde = this.fdeFor(pc);
    if (!fde) return undefined;
    const cie = fde.cie;
    const state: ExecState = { loc: fde.low, cfa: { kind: 'reg-offset', reg: 7, offset: 8 }, rules: new Map(), stack: [] };
    execute(cie.instructions, cie.instructionsOffset, cie, state, Infinity, this.section, null, this.opts, this.isEh);
    const initial = new Map(state.rules);
    const start = execute(fde.instructions, fde.instructionsOffset, cie, state, pc, this.section, initial, this.opts, this.isEh);
    return { fde, start, cfa: state.cfa, rules: state.rules };
  }

  private cieAt(offset: number): Cie {
    const cached = this.cies.get(offset);
    if (cached) return cached;
    if (offset < 0 || offset >= this.buf.length) fail(this.section, offset, 'CIE pointer outside section');
    const r = new Reader(this.buf, this.section, offset);
    const [length, offsetSize] = r.initialLength();
    if (length > r.remaining) fail(this.section, offset, 'CIE length runs past the section');
    r.end = r.pos + length;
    const id = r.offset(offsetSize);
    const isCie = this.isEh ? id === 0 : (offsetSize === 4 ? id === 0xffffffff : id === -1);
    if (!isCie) fail(this.section, offset, 'CIE pointer does not point at a CIE');
    const version = r.u8();
    if (version !== 1 && version !== 3 && version !== 4) fail(this.section, offset, `unsupported CIE version ${version}`);
    const augmentation = r.cstr();
    let addrSize = this.opts.addrSize ?? 8;
    if (version === 4) { addrSize = r.u8(); r.u8(); }
    const codeAlign = r.uleb();
    const dataAlign = r.sleb();
    const raReg = version === 1 ? r.u8() : r.uleb();
    let fdeEncoding: number = this.isEh ? DW_EH_PE.absptr : -1, lsdaEncoding: number = DW_EH_PE.omit, signalFrame = false;
    if (augmentation.startsWith('z')) {
      const augLen = r.uleb();
      const aug = r.sub(augLen);
      for (const ch of augmentation.slice(1)) {
        if (ch === 'R') fdeEncoding = aug.u8();
        else if (ch === 'L') lsdaEncoding = aug.u8();
        else if (ch === 'P') { const enc = aug.u8(); readEncoded(aug, enc, this.opts, addrSize, this.section); }
        else if (ch === 'S') signalFrame = true;
        else break; // unknown augmentation: the length lets us skip the rest
      }
    } else if (augmentation !== '' && augmentation !== 'eh') {
      fail(this.section, offset, `unsupported CIE augmentation "${augmentation}"`);
    }
    const instructionsOffset = r.pos;
    const cie: Cie = {
      offset, version, augmentation, addrSize, codeAlign, dataAlign, raReg, fdeEncoding, lsdaEncoding, signalFrame,
      instructions: r.bytes(r.remaining), instructionsOffset,
    };
    this.cies.set(offset, cie);
    return cie;
  }

  private parseFde(offset: number, pos: number, end: number, cie: Cie): Fde {
    const r = new Reader(this.buf, this.section, pos, end);
    let low: number, range: number;
    if (this.isEh) {
      low = readEncoded(r, cie.fdeEncoding, this.opts, cie.addrSize, this.section);
      range = readEncoded(r, cie.fdeEncoding & 0x0f, this.opts, cie.addrSize, this.section);
      if (cie.augmentation.startsWith('z')) r.skip(r.uleb());
    } else {
      low = r.address(cie.addrSize);
      range = r.address(cie.addrSize);
    }
    const instructionsOffset = r.pos;
    return { offset, cie, low, high: low + range, instructions: r.bytes(r.remaining), instructionsOffset };
  }
}

function readEncoded(r: Reader, enc: number, opts: FrameOptions, addrSize: number, section: SectionName): number {
  if (enc === DW_EH_PE.omit) return 0;
  const fieldAddr = (opts.sectionAddress ?? 0) + r.pos;
  let v: number;
  switch (enc & 0x0f) {
    case DW_EH_PE.absptr: v = r.address(addrSize); break;
    case DW_EH_PE.uleb128: v = r.uleb(); break;
    case DW_EH_PE.udata2: v = r.u16(); break;
    case DW_EH_PE.udata4: v = r.u32(); break;
    case DW_EH_PE.udata8: v = r.u64(); break;
    case DW_EH_PE.sleb128: v = r.sleb(); break;
    case DW_EH_PE.sdata2: v = r.i16(); break;
    case DW_EH_PE.sdata4: v = r.i32(); break;
    case DW_EH_PE.sdata8: v = r.u64(); break;
    default: return fail(section, r.pos, `unsupported pointer encoding 0x${enc.toString(16)}`);
  }
  switch (enc & 0x70) {
    case 0: break;
    case DW_EH_PE.pcrel: v += fieldAddr; break;
    default: return fail(section, r.pos, `unsupported pointer application 0x${(enc & 0x70).toString(16)}`);
  }
  return v;
}

interface ExecState {
  loc: number;
  cfa: CfaRule;
  rules: Map<number, RegisterRule>;
  stack: { cfa: CfaRule; rules: Map<number, RegisterRule> }[];
}

/**
 * Runs CFA instructions until the location would pass `pc`. Returns the start address of the row in effect.
 * Every instruction consumes at least one byte, so this is bounded by the instruction bytes.
 */
function execute(ins: Uint8Array, base: number, cie: Cie, s: ExecState, pc: number, section: SectionName,
  initial: Map<number, RegisterRule> | null, opts: FrameOptions, isEh: boolean): number {
  const r = new Reader(ins, section);
  let rowStart = s.loc;
  const err = (why: string): never => fail(section, base + r.pos, why);
  const advanceTo = (loc: number): boolean => {
    if (loc > pc) return false;
    s.loc = loc; rowStart = loc; return true;
  };
  const restore = (reg: number) => {
    if (!initial) err('DW_CFA_restore in a CIE');
    const rule = initial!.get(reg);
    if (rule) s.rules.set(reg, rule); else s.rules.delete(reg);
  };
  const cfaRegOffset = (): { reg: number; offset: number } => {
    if (s.cfa.kind !== 'reg-offset') return err('CFA offset change while the CFA is an expression');
    return s.cfa;
  };
  while (r.remaining > 0) {
    const op = r.u8();
    const hi = op & 0xc0, low = op & 0x3f;
    if (hi === DW_CFA.advance_loc) { if (!advanceTo(s.loc + low * cie.codeAlign)) return rowStart; continue; }
    if (hi === DW_CFA.offset) { s.rules.set(low, { kind: 'offset', offset: r.uleb() * cie.dataAlign }); continue; }
    if (hi === DW_CFA.restore) { restore(low); continue; }
    switch (op) {
      case DW_CFA.nop: break;
      case DW_CFA.set_loc: {
        const loc = isEh ? readEncoded(r, cie.fdeEncoding, { ...opts, sectionAddress: undefined }, cie.addrSize, section) : r.address(cie.addrSize);
        if (!advanceTo(loc)) return rowStart;
        break;
      }
      case DW_CFA.advance_loc1: if (!advanceTo(s.loc + r.u8() * cie.codeAlign)) return rowStart; break;
      case DW_CFA.advance_loc2: if (!advanceTo(s.loc + r.u16() * cie.codeAlign)) return rowStart; break;
      case DW_CFA.advance_loc4: if (!advanceTo(s.loc + r.u32() * cie.codeAlign)) return rowStart; break;
      case DW_CFA.offset_extended: { const reg = r.uleb(); s.rules.set(reg, { kind: 'offset', offset: r.uleb() * cie.dataAlign }); break; }
      case DW_CFA.restore_extended: restore(r.uleb()); break;
      case DW_CFA.undefined: s.rules.set(r.uleb(), { kind: 'undefined' }); break;
      case DW_CFA.same_value: s.rules.set(r.uleb(), { kind: 'same-value' }); break;
      case DW_CFA.register: { const reg = r.uleb(); s.rules.set(reg, { kind: 'register', reg: r.uleb() }); break; }
      case DW_CFA.remember_state:
        if (s.stack.length > 64) err('DW_CFA_remember_state nested too deeply');
        s.stack.push({ cfa: s.cfa, rules: new Map(s.rules) });
        break;
      case DW_CFA.restore_state: {
        const top = s.stack.pop();
        if (!top) err('DW_CFA_restore_state without remember_state');
        s.cfa = top!.cfa; s.rules = top!.rules;
        break;
      }
      case DW_CFA.def_cfa: { const reg = r.uleb(); s.cfa = { kind: 'reg-offset', reg, offset: r.uleb() }; break; }
      case DW_CFA.def_cfa_sf: { const reg = r.uleb(); s.cfa = { kind: 'reg-offset', reg, offset: r.sleb() * cie.dataAlign }; break; }
      case DW_CFA.def_cfa_register: { const c = cfaRegOffset(); s.cfa = { kind: 'reg-offset', reg: r.uleb(), offset: c.offset }; break; }
      case DW_CFA.def_cfa_offset: { const c = cfaRegOffset(); s.cfa = { kind: 'reg-offset', reg: c.reg, offset: r.uleb() }; break; }
      case DW_CFA.def_cfa_offset_sf: { const c = cfaRegOffset(); s.cfa = { kind: 'reg-offset', reg: c.reg, offset: r.sleb() * cie.dataAlign }; break; }
      case DW_CFA.def_cfa_expression: s.cfa = { kind: 'expression', expr: r.bytes(r.uleb()) }; break;
      case DW_CFA.expression: { const reg = r.uleb(); s.rules.set(reg, { kind: 'expression', expr: r.bytes(r.uleb()) }); break; }
      case DW_CFA.val_expression: { const reg = r.uleb(); s.rules.set(reg, { kind: 'val-expression', expr: r.bytes(r.uleb()) }); break; }
      case DW_CFA.offset_extended_sf: { const reg = r.uleb(); s.rules.set(reg, { kind: 'offset', offset: r.sleb() * cie.dataAlign }); break; }
      case DW_CFA.val_offset: { const reg = r.uleb(); s.rules.set(reg, { kind: 'val-offset', offset: r.uleb() * cie.dataAlign }); break; }
      case DW_CFA.val_offset_sf: { const reg = r.uleb(); s.rules.set(reg, { kind: 'val-offset', offset: r.sleb() * cie.dataAlign }); break; }
      case DW_CFA.GNU_args_size: r.uleb(); break;
      case DW_CFA.GNU_negative_offset_extended: { const reg = r.uleb(); s.rules.set(reg, { kind: 'offset', offset: -r.uleb() * cie.dataAlign }); break; }
      default: err(`unknown CFA instruction 0x${op.toString(16)}`);
    }
  }
  return rowStart;
}
