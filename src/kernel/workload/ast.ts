// The workload language's syntax tree. Positions are 1-based line/column in the script's source.

export interface Pos { line: number; col: number; len: number }

export type Operand =
  | { kind: 'int'; value: number; pos: Pos }
  | { kind: 'string'; bytes: Uint8Array; pos: Pos }
  | { kind: 'var'; name: string; pos: Pos }
  | { kind: 'elem'; name: string; index: number; pos: Pos };

export type CmpOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export type Stmt =
  /** `[NAME =] SYSCALL ARG...`: args are complete (defaults filled in by the parser). */
  | { kind: 'call'; target?: string; name: string; nr: number; args: ArgOperand[]; pos: Pos }
  /** `NAME = buf SIZE`: a zeroed user buffer private to the task. */
  | { kind: 'buf'; target: string; size: number; pos: Pos }
  | { kind: 'repeat'; count: number; body: Stmt[]; pos: Pos }
  /** `spawn N { ... }`: N new tasks run the body concurrently with a copy of the variables, then exit 0. */
  | { kind: 'spawn'; count: number; body: Stmt[]; pos: Pos }
  | { kind: 'expect'; left: Operand; op: CmpOp; right: Operand; pos: Pos; source: string };

/** A call argument after defaults: an operand, or a timespec built from a nanosecond count. */
export type ArgOperand = Operand | { kind: 'timespec'; ns: Operand; pos: Pos };

export interface Script {
  file: string;
  source: string;
  body: Stmt[];
}
