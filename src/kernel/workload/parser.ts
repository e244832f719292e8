// Parser and checker of the workload language (documented in `ktrace help workload` and the README).
// Everything a script can get wrong is reported here, with a caret, before the kernel boots.
import type { ArgOperand, CmpOp, Operand, Pos, Script, Stmt } from './ast.js';
import { WorkloadError } from './error.js';
import { USER_ARENA_HEAP } from '../contract.js';
import { tokenize, type Token } from './lexer.js';
import { CONSTANTS, ERRNO, SYSCALL_BY_NAME, type ArgValueInfo, type SyscallSpec } from './syscalls.js';

export const MAX_SPAWN = 64;
export const MAX_REPEAT = 10_000_000;
export const MAX_BUF = 1 << 16;
/** Blocks (`repeat`, `spawn`) nest at most this deep: the parser and the runner recurse per level. */
export const MAX_NESTING = 64;

/** A table's own entry (not `toString` or `constructor` from Object.prototype). */
const own = (table: Readonly<Record<string, number>>, key: string): number | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);

type VarKind = { kind: 'int' } | { kind: 'buffer'; size: number };

export function parseWorkload(file: string, source: string, syscalls: ReadonlyMap<string, SyscallSpec> = SYSCALL_BY_NAME): Script {
  const toks = tokenize(file, source);
  let k = 0;
  const peek = (): Token => toks[k];
  const next = (): Token => toks[k++];
  const fail = (pos: Pos, reason: string): never => { throw new WorkloadError(file, source, pos, reason); };
  let lines: string[] | undefined;
  const lineText = (line: number) => ((lines ??= source.split('\n'))[line - 1] ?? '').trim();
  let depth = 0;
  // A task's user heap, as the runner lays it out (each buffer and timespec site once, 16-aligned).
  let heap = 0;
  const allocate = (pos: Pos, size: number) => {
    heap = ((heap + 15) & ~15) + size;
    if (heap > USER_ARENA_HEAP) fail(pos, `this task's buffers need more than its ${USER_ARENA_HEAP >> 10} KiB of user memory`);
  };

  function expectPunct(text: string): Token {
    const t = next();
    const found = t.kind === 'eol' && t.text !== ';' ? 'the end of the line' : `'${t.text}'`;
    if (t.kind !== 'punct' || t.text !== text) fail(t.pos, `expected '${text}'${t.kind === 'eof' ? ' before the end of the script' : ` but found ${found}`}`);
    return t;
  }

  function intLiteral(what: string, min: number, max: number): number {
    const t = next();
    if (t.kind !== 'int') return fail(t.pos, `${what} must be an integer`);
    if (t.value! < min || t.value! > max) return fail(t.pos, `${what} must be between ${min} and ${max}`);
    return t.value!;
  }

  /** An operand, and `A|B|...` of integers (symbolic flags: O_CREAT|O_WRONLY|O_TRUNC) folded into one. */
  function operand(scope: Map<string, VarKind>): Operand {
    let op = single(scope);
    while (peek().kind === 'punct' && peek().text === '|') {
      next();
      const rhs = single(scope);
      if (op.kind !== 'int') return fail(op.pos, "'|' combines integers and constants (flags), not a variable or string");
      if (rhs.kind !== 'int') return fail(rhs.pos, "'|' combines integers and constants (flags), not a variable or string");
      if (op.value < 0 || rhs.value < 0) return fail(op.value < 0 ? op.pos : rhs.pos, "'|' combines non-negative flags");
      op = { kind: 'int', value: Number(BigInt(op.value) | BigInt(rhs.value)), pos: { ...op.pos, len: rhs.pos.col + rhs.pos.len - op.pos.col } };
    }
    return op;
  }

  function single(scope: Map<string, VarKind>): Operand {
    const t = next();
    if (t.kind === 'int') return { kind: 'int', value: t.value!, pos: t.pos };
    if (t.kind === 'string') return { kind: 'string', bytes: t.bytes!, pos: t.pos };
    if (t.kind === 'name') {
      if (t.text.startsWith('-')) {
        const e = own(ERRNO, t.text.slice(1));
        if (e === undefined) return fail(t.pos, `unknown errno name '${t.text.slice(1)}'`);
        return { kind: 'int', value: -e, pos: t.pos };
      }
      if (own(CONSTANTS, t.text) !== undefined && !scope.has(t.text)) return { kind: 'int', value: CONSTANTS[t.text]!, pos: t.pos };
      if (own(ERRNO, t.text) !== undefined && !scope.has(t.text)) return { kind: 'int', value: ERRNO[t.text]!, pos: t.pos };
      const v = scope.get(t.text);
      if (!v) return fail(t.pos, `unknown variable '${t.text}'`);
      if (peek().kind === 'punct' && peek().text === '[') {
        next();
        if (v.kind !== 'buffer') fail(t.pos, `'${t.text}' is not a buffer and cannot be indexed`);
        const it = next();
        if (it.kind !== 'int') fail(it.pos, 'index must be an integer');
        const size = (v as { size: number }).size;
        if (it.value! < 0 || (it.value! + 1) * 4 > size) fail(it.pos, `index ${it.value} is outside '${t.text}' (${size} bytes, ${size >> 2} ints)`);
        const close = expectPunct(']');
        return { kind: 'elem', name: t.text, index: it.value!, pos: { ...t.pos, len: close.pos.col - t.pos.col + 1 } };
      }
      return { kind: 'var', name: t.text, pos: t.pos };
    }
    return fail(t.pos, t.kind === 'eol' || t.kind === 'eof' ? 'expected a value' : `unexpected '${t.text}'`);
  }

  function info(op: Operand, scope: Map<string, VarKind>): ArgValueInfo {
    if (op.kind === 'string') return { kind: 'string', length: op.bytes.length };
    if (op.kind === 'var') {
      const v = scope.get(op.name)!;
      return v.kind === 'buffer' ? { kind: 'buffer', length: v.size } : { kind: 'var' };
    }
    return { kind: op.kind };
  }

  function call(nameTok: Token, target: string | undefined, scope: Map<string, VarKind>): Stmt {
    const spec = syscalls.get(nameTok.text);
    if (!spec) return fail(nameTok.pos, `unknown system call '${nameTok.text}'`);
    if (spec.refuse) fail(nameTok.pos, `'${spec.name}' cannot be called directly: ${spec.refuse}`);
    const given: Operand[] = [];
    while (!(peek().kind === 'eol' || peek().kind === 'eof' || (peek().kind === 'punct' && peek().text === '}'))) {
      given.push(operand(scope));
    }
    // openat "/path" [flags]: the directory fd defaults to AT_FDCWD, as in open(2).
    if (spec.name === 'openat' && given[0]?.kind === 'string') {
      given.unshift({ kind: 'int', value: CONSTANTS.AT_FDCWD, pos: given[0].pos });
    }
    if (given.length > spec.args.length) {
      fail(given[spec.args.length].pos, `too many arguments: ${spec.name} takes ${spec.args.length} (${spec.args.map((a) => a.name).join(', ') || 'none'})`);
    }
    const infos = given.map((g) => info(g, scope));
    const args: ArgOperand[] = [];
    spec.args.forEach((a, i) => {
      let op: Operand | undefined = given[i];
      if (!op) {
        const d = typeof a.dflt === 'function' ? a.dflt(infos) : a.dflt;
        if (d === undefined) {
          const at = given.length ? given[given.length - 1].pos : nameTok.pos;
          fail({ line: at.line, col: at.col + at.len, len: 1 }, `${spec.name}: missing argument '${a.name}'`);
        }
        op = { kind: 'int', value: d!, pos: nameTok.pos };
      }
      const inf = info(op, scope);
      switch (a.kind) {
        case 'int':
          if (inf.kind === 'string' || inf.kind === 'buffer') fail(op.pos, `${spec.name}: argument '${a.name}' is an integer, not a ${inf.kind}`);
          args.push(op);
          break;
        case 'ptr':
        case 'cstr':
          args.push(op);
          break;
        case 'timespec':
          if (inf.kind === 'string' || inf.kind === 'buffer') fail(op.pos, `${spec.name}: argument '${a.name}' is a time in nanoseconds`);
          allocate(op.pos, 16);
          args.push({ kind: 'timespec', ns: op, pos: op.pos });
          break;
      }
    });
    const end = given.length ? given[given.length - 1].pos : nameTok.pos;
    if (target) scope.set(target, { kind: 'int' });
    return { kind: 'call', target, name: spec.name, nr: spec.nr, args, pos: { line: nameTok.pos.line, col: nameTok.pos.col, len: end.col + end.len - nameTok.pos.col } };
  }

  function block(scope: Map<string, VarKind>, top: boolean): Stmt[] {
    const out: Stmt[] = [];
    for (;;) {
      const t = peek();
      if (t.kind === 'eol') { next(); continue; }
      if (t.kind === 'eof') {
        if (!top) fail(t.pos, "missing '}' before the end of the script");
        return out;
      }
      if (t.kind === 'punct' && t.text === '}') {
        if (top) fail(t.pos, "unmatched '}'");
        return out;
      }
      out.push(statement(scope));
      const after = peek();
      if (!(after.kind === 'eol' || after.kind === 'eof' || (after.kind === 'punct' && after.text === '}'))) {
        fail(after.pos, `unexpected '${after.text}' after the statement`);
      }
    }
  }

  function statement(scope: Map<string, VarKind>): Stmt {
    const t = next();
    if (t.kind !== 'name' || t.text.startsWith('-')) return fail(t.pos, `expected a statement, found '${t.text}'`);
    if (t.text === 'repeat' || t.text === 'spawn') {
      const count = t.text === 'repeat' ? intLiteral('repeat count', 0, MAX_REPEAT) : intLiteral('spawn count', 1, MAX_SPAWN);
      const open = expectPunct('{');
      if (++depth > MAX_NESTING) fail(open.pos, `blocks nested too deeply (at most ${MAX_NESTING} levels)`);
      const inner = t.text === 'spawn' ? new Map(scope) : scope;
      // A spawned task has a heap of its own.
      const outerHeap = heap;
      if (t.text === 'spawn') heap = 0;
      const body = block(inner, false);
      if (t.text === 'spawn') heap = outerHeap;
      expectPunct('}');
      depth--;
      return { kind: t.text, count, body, pos: t.pos };
    }
    if (t.text === 'expect') {
      const left = operand(scope);
      const opTok = next();
      if (opTok.kind !== 'op') return fail(opTok.pos, 'expected a comparison (== != < <= > >=)');
      const right = operand(scope);
      const kinds = [info(left, scope).kind, info(right, scope).kind];
      const hasBytes = kinds.includes('string') || kinds.includes('buffer');
      if (hasBytes) {
        if (opTok.text !== '==' && opTok.text !== '!=') fail(opTok.pos, 'strings and buffers compare only with == or !=');
        const ok = (kinds[0] === 'buffer' && kinds[1] === 'string') || (kinds[0] === 'string' && kinds[1] === 'buffer');
        if (!ok) fail(left.pos, 'a string compares with a buffer: expect BUF == "text"');
      }
      return { kind: 'expect', left, op: opTok.text as CmpOp, right, pos: t.pos, source: lineText(t.pos.line) };
    }
    if (peek().kind === 'punct' && peek().text === '=') {
      next();
      if (own(CONSTANTS, t.text) !== undefined || syscalls.has(t.text) || ['repeat', 'spawn', 'expect', 'buf'].includes(t.text)) {
        fail(t.pos, `'${t.text}' is a reserved name`);
      }
      const rhs = next();
      if (rhs.kind === 'name' && rhs.text === 'buf') {
        const size = intLiteral('buffer size', 1, MAX_BUF);
        allocate(t.pos, size);
        scope.set(t.text, { kind: 'buffer', size });
        return { kind: 'buf', target: t.text, size, pos: t.pos };
      }
      if (rhs.kind !== 'name') return fail(rhs.pos, 'expected a system call or `buf SIZE`');
      return call(rhs, t.text, scope);
    }
    return call(t, undefined, scope);
  }

  const body = block(new Map(), true);
  return { file, source, body };
}
