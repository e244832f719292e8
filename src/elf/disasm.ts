// objdump-style disassembly of image code with iced-x86 (the one instruction decoder of ktrace).
// iced-x86 is loaded when the first line is disassembled (emu/iced.ts).
//
// Output layout is `objdump -d` (binutils 2.40) byte for byte where we know how:
//   ffffffff81000000 <name>:
//   ffffffff81000000:\t0f 1f 44 00 00       \tnopl   0x0(%rax,%rax,1)
// 7 bytes per line, further bytes on continuation lines; the mnemonic (with prefixes) padded to 6
// columns plus a space; branch targets and RIP-relative comments named as objdump names them.
// iced's GNU-as and Intel formatters are close to objdump; the remaining spelling differences are
// fixed in one place per syntax (objdumpAtt, objdumpIntel). Verified instruction for instruction
// against objdump 2.40 on the fixture kernel, test/elf/kernel-insns.S and (KTRACE_LONG) a static glibc.
// Known gap: undecodable bytes print `(bad)` but iced may consume more than objdump's one byte.
import iced, { Decoder, DecoderOptions, Formatter, FormatterSyntax, Instruction, FlowControl, OpKind, Code, Register } from '../emu/iced.js';
import type * as Iced from 'iced-x86';
import type { Image } from './image.js';
import type { Section } from './elf-file.js';
import { ObjdumpSymbols, objdumpHex } from './objdump-symbols.js';
import { hex16 } from '../base/addr.js';

export type Syntax = 'att' | 'intel';

export interface DisasmLine {
  addr: number;
  bytes: Uint8Array;
  /** Instruction text as objdump prints it after the bytes column (mnemonic, operands, `# comment`). */
  text: string;
}

/**
 * One decoded instruction in objdump's AT&T text, operands after a single space, branch targets as
 * bare addresses (no `<sym+off>`): what messages quote (`ktrace why`'s "indirect jump at ... (jmp *%r8)").
 */
export function attText(ins: Iced.Instruction, bytes: Uint8Array): string {
  if (ins.code === Code.INVALID) return '(bad)';
  const f = (attFormatter ??= objdumpFormatter('att'));
  let mn = f.formatMnemonic(ins), ops = f.formatAllOperands(ins);
  const fc = ins.flowControl;
  if ((fc === FlowControl.Call || fc === FlowControl.UnconditionalBranch || fc === FlowControl.ConditionalBranch) && ins.op0Kind === OpKind.NearBranch64) {
    ops = objdumpHex(Number(BigInt.asIntN(64, ins.nearBranch64)));
  }
  [mn, ops] = objdumpAtt(ins, mn, ops, bytes);
  return ops ? `${mn} ${ops}` : mn;
}
let attFormatter: Iced.Formatter | undefined;

/** An iced formatter with objdump's settings for a syntax. */
function objdumpFormatter(syntax: Syntax): Iced.Formatter {
  const f = new Formatter(syntax === 'att' ? FormatterSyntax.Gas : FormatterSyntax.Intel);
  f.uppercaseHex = false;
  f.hexPrefix = '0x';
  f.hexSuffix = '';
  f.leadingZeros = false;
  f.smallHexNumbersInDecimal = false;
  f.spaceAfterOperandSeparator = false;
  f.signedMemoryDisplacements = true;
  f.signedImmediateOperands = false;
  f.showBranchSize = false;
  f.ripRelativeAddresses = true;
  f.showUselessPrefixes = true;
  f.gasShowMnemonicSizeSuffix = false;
  f.showZeroDisplacements = true;
  f.memorySizeOptions = syntax === 'att' ? iced.MemorySizeOptions.Minimal : iced.MemorySizeOptions.Always;
  if (syntax === 'intel') {
    f.alwaysShowScale = true;
    f.uppercaseKeywords = true;
  }
  return f;
}

export class Disassembler {

  private readonly img: Image;
  private readonly syms: ObjdumpSymbols;
  private readonly fmt: Iced.Formatter;
  private readonly syntax: Syntax;

  constructor(img: Image, syntax: Syntax = 'att') {
    this.img = img;
    this.syntax = syntax;
    this.syms = new ObjdumpSymbols(img);
    this.fmt = objdumpFormatter(syntax);
  }

  free(): void { this.fmt.free(); }

  /** Decodes [start, end) linearly. Undecodable bytes give objdump's `(bad)` lines. */
  lines(start: number, end: number): DisasmLine[] {
    const len = end - start;
    const bytes = len > 0 ? this.img.read(start, len) : undefined;
    if (!bytes) return [];
    const sec = this.img.sectionAt(start);
    const dec = new Decoder(64, bytes, DecoderOptions.None);
    dec.ip = BigInt.asUintN(64, BigInt(start));
    const ins = new Instruction();
    const out: DisasmLine[] = [];
    try {
      let off = 0;
      while (dec.canDecode) {
        dec.decodeOut(ins);
        const n = ins.length;
        const b = bytes.subarray(off, off + n);
        out.push({ addr: start + off, bytes: b, text: this.text(ins, b, sec) });
        off += n;
      }
    } finally {
      ins.free();
      dec.free();
    }
    return out;
  }

  private text(ins: Iced.Instruction, bytes: Uint8Array, sec: Section | undefined): string {
    if (ins.code === Code.INVALID) return '(bad)';
    const f = this.fmt;
    let mn = f.formatMnemonic(ins);
    let ops = f.formatAllOperands(ins);
    const fc = ins.flowControl;
    let comment = '';
    const nearBranch = (fc === FlowControl.Call || fc === FlowControl.UnconditionalBranch || fc === FlowControl.ConditionalBranch
      || fc === FlowControl.XbeginXabortXend) && ins.op0Kind === OpKind.NearBranch64;
    if (nearBranch) {
      const target = Number(BigInt.asIntN(64, ins.nearBranch64));
      ops = objdumpHex(target) + this.syms.label(target, sec);
    } else if (ins.isIpRelMemoryOperand) {
      const target = Number(BigInt.asIntN(64, ins.ipRelMemoryAddress));
      comment = '        # ' + objdumpHex(target) + this.syms.label(target, sec);
    }
    [mn, ops] = this.syntax === 'att' ? objdumpAtt(ins, mn, ops, bytes) : objdumpIntel(ins, mn, ops, bytes);
    const head = ops ? mn.padEnd(6) + ' ' + ops : mn;
    return head + comment;
  }

  /** objdump -d text for [start, end): a `<name>` header line, then one line per instruction. */
  render(start: number, end: number): string {
    const lines = this.lines(start, end);
    const sec = this.img.sectionAt(start);
    let out = `${hex16(start)}${this.syms.label(start, sec)}:\n`;
    for (const l of lines) out += renderLine(l);
    return out;
  }
}

/** One instruction as objdump prints it: 7 bytes per line, continuation lines for the rest. */
export function renderLine(l: DisasmLine): string {
  let out = '';
  for (let i = 0; i < l.bytes.length || i === 0; i += 7) {
    let b = '';
    for (let j = i; j < Math.min(i + 7, l.bytes.length); j++) b += l.bytes[j]!.toString(16).padStart(2, '0') + ' ';
    const a = objdumpHex(l.addr + i).padStart(8, ' ');
    out += i === 0 ? `${a}:\t${b.padEnd(21)}\t${l.text}\n` : `${a}:\t${b}\n`;
  }
  return out;
}

const SEGS = new Map<number, string>([[Register.CS, 'cs'], [Register.DS, 'ds'], [Register.ES, 'es'], [Register.SS, 'ss']]);

// The remaining differences between iced's GNU-as output and objdump's AT&T output, in one place.
function objdumpAtt(ins: Iced.Instruction, mn: string, ops: string, bytes: Uint8Array): [string, string] {
  mn = commonPrefixes(ins, mn, bytes);
  // objdump 2.40 drops the q of near indirect call/jmp and push/pop of memory: `call *(%rsp)`, `push 0x40(%rsp)`.
  if (mn === 'callq' || mn === 'jmpq' || mn === 'pushq' || mn === 'popq') mn = mn.slice(0, -1);
  else if (mn.endsWith(' callq') || mn.endsWith(' jmpq')) mn = mn.slice(0, -1);
  // D0-D3 shifts by one: objdump shows only the shifted operand (`shr %edx`), iced an explicit $0x1.
  if (SHIFT_BY_ONE.has(ins.code)) ops = ops.replace(/^\$0x1,/, '');
  // imul $imm,%reg,%reg: iced folds the repeated register, objdump prints all three operands.
  if (ins.opCount === 3 && mn.endsWith('imul')) {
    const parts = splitOps(ops);
    if (parts.length === 2) ops = `${parts[0]},${parts[1]},${parts[1]}`;
  }
  // Port I/O through DX: objdump writes the port as (%dx).
  if (/(^| )(in|out|ins[bwl]|outs[bwl])$/.test(mn)) ops = ops.replace(/(^|,)%dx($|,)/, '$1(%dx)$2');
  // Debug registers are %db0-%db7 in objdump.
  ops = ops.replace(/%dr([0-7])\b/g, '%db$1');
  // 32-bit far returns and far indirect jumps/calls carry no suffix in objdump.
  const far = ATT_NAMES[mn];
  if (far) mn = far;
  // fxch with its implicit operand: objdump prints `fxch %st(1)`.
  if (mn === 'fxch' && ops === '') ops = '%st(1)';
  // String instructions: objdump names the implicit segments, `rep stos %eax,%es:(%rdi)`.
  if (hasStringOperand(ins)) ops = ops.replace(/(^|,)\((%[er]?di)\)/g, '$1%es:($2)').replace(/(^|,)\((%[er]?si)\)/g, '$1%ds:($2)');
  // objdump prints scale 1 whenever there is an index register: 0x0(%rax,%rax,1), (,%rdi,1).
  ops = ops.replace(/\((%\w+)?,(%\w+)\)/g, '($1,$2,1)');
  // In 64-bit mode a CS/DS/ES/SS override is ignored; objdump prints it as a prefix word
  // (`cs nopw 0x0(%rax,%rax,1)`), iced as a segment in the operand.
  const seg = SEGS.get(ins.segmentPrefix);
  if (seg && !(seg === 'ds' && mn.includes('notrack')) && !hasStringOperand(ins)) {
    ops = ops.replace('%' + seg + ':', '');
    const sp = mn.lastIndexOf(' ');
    mn = sp < 0 ? seg + ' ' + mn : mn.slice(0, sp + 1) + seg + ' ' + mn.slice(sp + 1);
  }
  return [mn, ops];
}

function objdumpIntel(ins: Iced.Instruction, mn: string, ops: string, bytes: Uint8Array): [string, string] {
  mn = commonPrefixes(ins, mn, bytes);
  if (SHIFT_BY_ONE.has(ins.code)) ops = ops.replace(/,0x1$/, ',1');
  if (MOVABS.has(ins.code)) {
    mn = 'movabs';
    // The moffs forms carry no size either: `movabs rax,ds:0xffffc90000000000`.
    ops = ops.replace(/\b(BYTE|WORD|DWORD|QWORD) PTR /, '');
  }
  const seg = SEGS.get(ins.segmentPrefix);
  if (seg && !(seg === 'ds' && mn.includes('notrack')) && !hasStringOperand(ins)) {
    ops = ops.replace(seg + ':', '');
    const sp = mn.lastIndexOf(' ');
    mn = sp < 0 ? seg + ' ' + mn : mn.slice(0, sp + 1) + seg + ' ' + mn.slice(sp + 1);
  }
  if (ins.opCount === 3 && mn.endsWith('imul')) {
    const parts = ops.split(',');
    if (parts.length === 2) ops = `${parts[0]},${parts[0]},${parts[1]}`;
  }
  if (mn === 'fxch' && ops === '') ops = 'st(1)';
  // x87 with a memory operand: objdump leaves the implicit st out (`fld TBYTE PTR [rcx]`).
  if (mn.startsWith('f') && ops.includes('PTR')) ops = ops.replace(/^st,/, '').replace(/,st$/, '');
  // ... and in the one-register loads, stores and compares: `fld st(0)`, `fstp st(1)`.
  if (/^(fld|fst|fstp|fucom|fucomp|fcom|fcomp|ffree)$/.test(mn)) ops = ops.replace(/^st,(st\(\d\))$/, '$1').replace(/^(st\(\d\)),st$/, '$1');
  // Absolute segment addresses are `fs:0x28` in objdump, `fs:[0x28]` in iced.
  ops = ops.replace(/\b([cdefgs]s):\[(0x[0-9a-f]+|\d+)\]/g, '$1:$2');
  // objdump shows a RIP displacement unsigned: [rip+0xffffffffffffe68e].
  ops = ops.replace(/\[rip-0x([0-9a-f]+)\]/, (_m, d: string) => `[rip+0x${(2n ** 64n - BigInt('0x' + d)).toString(16)}]`);
  if (hasStringOperand(ins)) [mn, ops] = intelString(mn, ops);
  // Descriptor-table loads and stores carry no size in objdump (`lgdt [rbp-0x12]`).
  if (/^(lgdt|lidt|sgdt|sidt)$/.test(mn)) ops = ops.replace('FWORD PTR ', '');
  if (mn === 'invlpg') ops = ops.replace(/^\[/, 'BYTE PTR [');
  mn = INTEL_NAMES[mn] ?? mn;
  // Far indirect jmp/call: objdump has no `far` keyword, the FWORD PTR says it.
  mn = mn.replace(/^((?:\w+ )*(?:jmp|call)) far$/, '$1');
  // mov to/from a segment register names the 32-bit register, as objdump does.
  if (mn === 'mov' && !bytes.includes(0x66)) ops = ops.replace(/^(cs|ds|es|fs|gs|ss),(\w+)$/, (_m, sr: string, r: string) => `${sr},${WIDE[r] ?? r}`).replace(/^(\w+),(cs|ds|es|fs|gs|ss)$/, (_m, r: string, sr: string) => `${WIDE[r] ?? r},${sr}`);
  if (mn === 'pushfq' || mn === 'popfq') mn = mn.slice(0, -1);
  // An absolute disp32 address (no base, no index) is `ds:0x...` in objdump.
  if (!SEGS.has(ins.segmentPrefix) && ins.segmentPrefix !== Register.FS && ins.segmentPrefix !== Register.GS) {
    ops = ops.replace(/(^|,)((?:\w+ PTR )?)\[(0x[0-9a-f]+)\]/, '$1$2ds:$3');
  }
  // objdump spells the 16-byte and larger sizes in capitals too (XMMWORD PTR).
  ops = ops.replace(/\b(xmm|ymm|zmm|t|o)word PTR/g, (m) => m.toUpperCase()).replace(/\[([^\]]*)\]/g, (m) => m.replace(/\+0x0\]$/, '+0x0]'));
  return [mn, ops];
}

const ATT_NAMES: Record<string, string> = { iretl: 'iret', lretl: 'lret', ljmpl: 'ljmp', lcalll: 'lcall' };
const INTEL_NAMES: Record<string, string> = { sysret: 'sysretd', iretd: 'iret', 'data64 ret far': 'retfq', 'ret far': 'retf' };
const WIDE: Record<string, string> = { ax: 'eax', bx: 'ebx', cx: 'ecx', dx: 'edx', si: 'esi', di: 'edi', sp: 'esp', bp: 'ebp',
  r8w: 'r8d', r9w: 'r9d', r10w: 'r10d', r11w: 'r11d', r12w: 'r12d', r13w: 'r13d', r14w: 'r14d', r15w: 'r15d' };
const ACC: Record<string, string> = { BYTE: 'al', WORD: 'ax', DWORD: 'eax', QWORD: 'rax' };

/** objdump's Intel string instructions: generic mnemonic, explicit segments and accumulator (`rep stos DWORD PTR es:[rdi],eax`). */
function intelString(mn: string, ops: string): [string, string] {
  const m = /^(.*?)(movs|stos|lods|scas|cmps|ins|outs)[bwdq]$/.exec(mn);
  if (!m) return [mn, ops];
  const op = m[2]!;
  mn = m[1]! + op;
  ops = ops.replace(/(^|,)((?:\w+ PTR )?)\[([er]?di)\]/g, '$1$2es:[$3]').replace(/(^|,)((?:\w+ PTR )?)\[([er]?si)\]/g, '$1$2ds:[$3]');
  const size = /^(BYTE|WORD|DWORD|QWORD) PTR/.exec(ops.split(',').find((p) => p.includes('PTR')) ?? '')?.[1];
  const acc = size ? ACC[size] : undefined;
  if (acc && !ops.includes(',')) {
    if (op === 'stos') ops = ops + ',' + acc;
    else if (op === 'lods' || op === 'scas') ops = acc + ',' + ops;
  }
  return [mn, ops];
}

// Codes by name, as ktrace's other iced facts, from emu/iced-enums.ts: reading iced's own Code enum
// (~4,900 names) would build it in a short disassembly (bin/ktrace's loader builds iced's enums when
// first read). test/elf/disasm.test.ts checks each list is every iced Code whose name matches.
/** objdump's movabs: the imm64 load and the moffs forms (`Mov_r64_imm64`, `Mov_(AL|AX|EAX|RAX)_moffs*`, `Mov_moffs*`). */
export const MOVABS = new Set<number>([Code.Mov_r64_imm64, Code.Mov_AL_moffs8, Code.Mov_AX_moffs16, Code.Mov_EAX_moffs32,
  Code.Mov_RAX_moffs64, Code.Mov_moffs8_AL, Code.Mov_moffs16_AX, Code.Mov_moffs32_EAX, Code.Mov_moffs64_RAX]);
/** D0-D3 shifts and rotates by one (`(Rol|Ror|Rcl|Rcr|Shl|Shr|Sal|Sar)_rm\d+_1`). */
export const SHIFT_BY_ONE = new Set<number>([
  Code.Rol_rm8_1, Code.Rol_rm16_1, Code.Rol_rm32_1, Code.Rol_rm64_1, Code.Ror_rm8_1, Code.Ror_rm16_1, Code.Ror_rm32_1, Code.Ror_rm64_1,
  Code.Rcl_rm8_1, Code.Rcl_rm16_1, Code.Rcl_rm32_1, Code.Rcl_rm64_1, Code.Rcr_rm8_1, Code.Rcr_rm16_1, Code.Rcr_rm32_1, Code.Rcr_rm64_1,
  Code.Shl_rm8_1, Code.Shl_rm16_1, Code.Shl_rm32_1, Code.Shl_rm64_1, Code.Shr_rm8_1, Code.Shr_rm16_1, Code.Shr_rm32_1, Code.Shr_rm64_1,
  Code.Sal_rm8_1, Code.Sal_rm16_1, Code.Sal_rm32_1, Code.Sal_rm64_1, Code.Sar_rm8_1, Code.Sar_rm16_1, Code.Sar_rm32_1, Code.Sar_rm64_1,
]);
const STRING_KINDS = new Set<number>([OpKind.MemorySegSI, OpKind.MemorySegESI, OpKind.MemorySegRSI, OpKind.MemorySegDI,
  OpKind.MemorySegEDI, OpKind.MemorySegRDI, OpKind.MemoryESDI, OpKind.MemoryESEDI, OpKind.MemoryESRDI]);

function hasStringOperand(ins: Iced.Instruction): boolean {
  for (let i = 0; i < ins.opCount; i++) if (STRING_KINDS.has(ins.opKind(i))) return true;
  return false;
}

function prefixEnd(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && [0x66, 0x67, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0xf0, 0xf2, 0xf3].includes(bytes[i]!)) i++;
  return i;
}

function hasMemory(ins: Iced.Instruction): boolean {
  for (let i = 0; i < ins.opCount; i++) {
    const k = ins.opKind(i);
    if (k === OpKind.Memory || STRING_KINDS.has(k)) return true;
  }
  return false;
}

/** Splits AT&T operands at top-level commas (not those inside parentheses). */
function splitOps(ops: string): string[] {
  const out: string[] = [];
  let depth = 0, cur = '';
  for (const ch of ops) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { out.push(cur); cur = ''; } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Prefix words objdump prints that iced does not: a repeated 0x66 (`data16`), `repz` on non-string instructions. */
function commonPrefixes(ins: Iced.Instruction, mn: string, bytes: Uint8Array): string {
  let n66 = 0;
  for (const b of bytes) {
    if (b === 0x66) n66++;
    else if (!(b === 0x67 || b === 0x2e || b === 0x36 || b === 0x3e || b === 0x26 || b === 0x64 || b === 0x65 || b === 0xf0 || b === 0xf2 || b === 0xf3)) break;
  }
  // 0x67 on an instruction without memory operand (e.g. the `addr32 call` padding of -mfentry-less startup code).
  if (bytes.includes(0x67) && bytes.indexOf(0x67) < prefixEnd(bytes) && !mn.includes('addr32') && !hasMemory(ins)) mn = 'addr32 ' + mn;
  const shown = mn.split(' ').filter((w) => w === 'data16').length;
  for (let i = shown; i < n66 - 1; i++) mn = 'data16 ' + mn;
  if (mn.startsWith('rep ') && !hasStringOperand(ins)) mn = 'repz ' + mn.slice(4);
  // objdump spells the conditional repeats repz/repnz.
  mn = mn.replace(/^repe /, 'repz ').replace(/^repne /, 'repnz ');
  return mn;
}
