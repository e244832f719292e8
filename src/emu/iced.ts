// iced-x86, loaded with require(): an ESM `import` of this 0.9 MB CommonJS module makes Node scan its
// source for export names first (cjs-module-lexer: ~100 ms of every start-up); require() does not.
// Every src/ module takes iced-x86 from here.
import { createRequire } from 'node:module';
import type * as Iced from 'iced-x86';

const iced = createRequire(import.meta.url)('iced-x86') as typeof Iced;
export default iced;

export const {
  BlockEncoder, BlockEncoderOptions, Code, ConditionCode, Decoder, DecoderOptions, Encoder, FlowControl, Formatter,
  FormatterSyntax, Instruction, MemoryOperand, MemorySizeExt, Mnemonic, OpAccess, OpKind, Register, RflagsBits,
  InstructionInfoFactory, InstructionInfoOptions,
} = iced;
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
