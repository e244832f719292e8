// Compares an emulator result with the host's, masking only the flags iced-x86 says the SDM leaves undefined
// for this exact instruction (Instruction.rflagsUndefined: per instance, so `shl r32, 1` keeps OF defined).
import { Decoder, DecoderOptions, Mnemonic, OpKind, Register, RflagsBits } from 'iced-x86';

const SHIFTS = new Set([Mnemonic.Rol, Mnemonic.Ror, Mnemonic.Rcl, Mnemonic.Rcr, Mnemonic.Shl, Mnemonic.Sal, Mnemonic.Shr,
  Mnemonic.Sar, Mnemonic.Shld, Mnemonic.Shrd]);
import {
  CODE_ADDR, DATA_SKEW, type CaseInput, type CaseOutput, type Expanded, type MachineState, REG_NAMES, applyOutput, hexToBytes,
} from './corpus.js';

/** iced RflagsBits → architectural RFLAGS bit positions (SDM Vol. 1 3.4.3). */
const ICED_TO_ARCH: [number, number][] = [
  [RflagsBits.CF, 0x1], [RflagsBits.PF, 0x4], [RflagsBits.AF, 0x10], [RflagsBits.ZF, 0x40],
  [RflagsBits.SF, 0x80], [RflagsBits.DF, 0x400], [RflagsBits.OF, 0x800], [RflagsBits.IF, 0x200], [RflagsBits.AC, 0x40000],
];

export interface Decoded {
  /** Disassembly, instructions separated by "; ". */
  text: string;
  /** Architectural RFLAGS bits undefined after the whole sequence. */
  undefinedFlags: number;
  /** Some instruction reads a flag an earlier one left undefined (its result is then undefined too). */
  readsUndefined: boolean;
}

const toArch = (iced: number) => {
  let a = 0;
  for (const [ib, ab] of ICED_TO_ARCH) if (iced & ib) a |= ab;
  return a;
};

/** Decodes a case's bytes and follows which flags are undefined through the sequence (iced-x86 flag info). */
export function decodeCase(code: string): Decoded {
  const d = new Decoder(64, hexToBytes(code), DecoderOptions.None);
  d.ip = BigInt(CODE_ADDR);
  const texts: string[] = [];
  let undef = 0, readsUndefined = false;
  while (d.canDecode) {
    const ins = d.decode();
    texts.push(ins.toString());
    if (toArch(ins.rflagsRead) & undef) readsUndefined = true;
    // A shift or rotate by CL leaves every flag alone when the masked count is 0 (SDM SAL/SHL, SHLD, RCL...):
    // what it "writes" may still be an earlier instruction's undefined flag.
    let countByCl = false;
    for (let i = 1; i < ins.opCount; i++) if (ins.opKind(i) === OpKind.Register && ins.opRegister(i) === Register.CL) countByCl = true;
    const written = countByCl && SHIFTS.has(ins.mnemonic) ? 0 : ins.rflagsWritten | ins.rflagsCleared | ins.rflagsSet;
    undef = (undef & ~toArch(written)) | toArch(ins.rflagsUndefined);
    ins.free();
  }
  d.free();
  return { text: texts.join('; '), undefinedFlags: undef, readsUndefined };
}

/** The emulator's answer for one case. */
export type EmuOutcome =
  | { kind: 'done'; state: MachineState }
  | { kind: 'fault'; what: string; vector: number; rip: number; errorCode: number; faultAddr: number; state: MachineState }
  | { kind: 'error'; what: string };                                 // the emulator threw or stopped elsewhere

export const VEC_NAMES: Record<number, string> = { 0: '#DE', 1: '#DB', 3: '#BP', 6: '#UD', 13: '#GP', 14: '#PF' };

const h64 = (v: bigint) => '0x' + v.toString(16).padStart(16, '0');
const fl = (v: number) => '0x' + v.toString(16);

/** null when the emulator agrees with the host, else a readable description of the difference. */
export function compareCase(c: CaseInput, input: Expanded, host: CaseOutput, emu: EmuOutcome): string | null {
  const dec = decodeCase(c.code);
  // At a fault, only the instructions before the faulting one have run: their undefined flags are what counts.
  const ran = host.ok ? dec : decodeCase(c.code.slice(0, 2 * host.rip));
  const head = () => {
    const regs = input.regs.map((v, i) => `${REG_NAMES[i]}=${h64(v)}`).join(' ');
    const mems = c.mem.map(([o, hx]) => `[data+${o}]=${hx}`).join(' ');
    return `${c.form}: ${dec.text}  (bytes ${c.code}, seed ${c.seed})\n  in:  rflags=${fl(input.flags)} ${regs}${mems ? '\n  mem: ' + mems : ''}`;
  };
  if (!host.ok) {
    // Same exception, same RIP (at the faulting instruction; past it for int3), same #PF error code and CR2.
    const vname = VEC_NAMES[host.vector] ?? `vector ${host.vector}`;
    // #PF error code bits P, W, U, RSVD, I (SDM Vol. 3 4.7). P is left out for kernel-half addresses: the host
    // kernel maps pages there (present, supervisor-only), the emulator's user-mode test machine does not.
    const pfMask = host.addr < 0 ? 0x1e : 0x1f;
    const hostWhat = `${vname} at rip=${fl(CODE_ADDR + host.rip)}` +
      (host.vector === 14 ? ` (error code ${fl(host.err)}, cr2=${fl(host.addr)})` : '');
    if (emu.kind !== 'fault') {
      return `${head()}\n  host: ${hostWhat} (signal ${host.sig}); emulator: ${emu.kind === 'error' ? emu.what : 'no fault'}`;
    }
    if (emu.vector !== host.vector || emu.rip !== CODE_ADDR + host.rip ||
        (host.vector === 14 && ((emu.errorCode & pfMask) !== (host.err & pfMask) || emu.faultAddr !== host.addr))) {
      return `${head()}\n  host: ${hostWhat}; emulator: ${emu.what}` +
        (emu.vector === 14 ? ` (error code ${fl(emu.errorCode)}, cr2=${fl(emu.faultAddr)})` : '');
    }
  } else if (emu.kind !== 'done') return `${head()}\n  host: completes; emulator: ${emu.what}`;
  // The architectural state: after the case, or at the fault (a precise fault leaves no partial effect).
  const want = applyOutput(input, host);
  const got = emu.state;
  const diffs: string[] = [];
  for (let i = 0; i < 16; i++) {
    if (want.regs[i] !== got.regs[i]) diffs.push(`${REG_NAMES[i]}: host ${h64(want.regs[i])} emu ${h64(got.regs[i])}`);
  }
  const m = ~ran.undefinedFlags;
  if ((want.flags & m) !== (got.flags & m)) {
    diffs.push(`rflags: host ${fl(want.flags)} emu ${fl(got.flags)} (differing bits ${fl((want.flags ^ got.flags) & m)}, undefined mask ${fl(ran.undefinedFlags)})`);
  }
  for (let i = 0; i < want.data.length; i++) {
    if (want.data[i] !== got.data[i]) {
      let j = i;
      while (j < want.data.length && j < i + 16 && want.data[j] !== got.data[j]) j++;
      diffs.push(`mem [data${i - DATA_SKEW >= 0 ? '+' : ''}${i - DATA_SKEW}..${j - DATA_SKEW}): host ${Buffer.from(want.data.subarray(i, j)).toString('hex')} emu ${Buffer.from(got.data.subarray(i, j)).toString('hex')}`);
      if (diffs.length > 12) break;
      i = j;
    }
  }
  return diffs.length ? `${head()}\n  ${diffs.join('\n  ')}` : null;
}
