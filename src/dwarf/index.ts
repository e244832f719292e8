// Public surface of the DWARF reader (src/dwarf). Bytes in through a loader; typed results out.
export { Dwarf, hasCode, type DwarfOptions, type FunctionInstance, type ScopeFrame, type Variable, type LineEntry } from './dwarf.js';
export { DwarfError, type SectionName } from './error.js';
export type { SectionLoader, RangedLoader } from './sections.js';
export { type FetchPlan, type AddressExpr, type EvalContext, type EvalResult, type Op, planLocation, evaluate, decodeOps, opNames, formatAddressExpr, derefAt, fieldAt } from './op.js';
export { type LineRow, type LineHeader, type LineFile, LineProgram } from './line.js';
export { type Range } from './ranges.js';
export { type CfaRule, type RegisterRule, type UnwindRow, FrameTable } from './frame.js';
export { TypeGraph, FetchTypes, type Member, type ScalarKind, type FetchType, type FetchTypeOptions, type ArrayInfo, type BitfieldFetch } from './types.js';
export { Die, Unit, type TreeStore, type UnitHeader } from './unit.js';
export { kernelRegName, dwarfRegName, X86_64_DWARF_NAMES } from './regs.js';
export { DW_TAG, DW_AT, DW_FORM, DW_OP, DW_ATE } from './constants.js';
export { type DebugInfoOffset, type DebugLineOffset } from './offsets.js';
