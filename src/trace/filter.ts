// The kernel's event filter (kernel/trace/trace_events_filter.c): the grammar of
// events/GROUP/EVENT/filter and of a trigger's "if EXPR", compiled the way predicate_parse does it
// (calc_stack, then one pass building a branch program: each predicate jumps forward on a result,
// ending at TRUE or FALSE; the second and third passes shorten jumps and fold the '!'), predicates
// as parse_pred reads them (a field, an operator from "~ != == <= < >= > &", a number or a quoted
// string), the same error codes and positions (append_filter_err: the filter file shows the text,
// a caret and "parse_error: MESSAGE"; error_log gets "event filter parse error"), and the errno a
// failed write returns (the kernel passes calc_stack's -1/-2/-3 and predicate_parse's -1 through).
// Pure: an event's fields in, a program out; records are read through a callback.
import { kstrtol, kstrtoul, U64_MAX } from './kprobe-events/numbers.js';
import { EPERM, ENOENT, ENOMEM, ESRCH, EINVAL } from '../base/errno.js';

/** One field a filter can name (the event's format fields plus the generic CPU/cpu/common_cpu/COMM/comm). */
export interface FilterField {
  name: string;
  /** Bytes in the record (numbers). */
  size: number;
  signed: boolean;
  /** num: compared as a number; str: a string field; comm: current->comm; cpu: the CPU. */
  kind: 'num' | 'str' | 'comm' | 'cpu';
}

/** FILT_ERR_* in order (the index is the code), with the kernel's text. */
export const FILTER_ERRORS = [
  'No error', 'Invalid operator', "Too many '('", "Too few '('", 'Missing matching quote', 'Operand too long',
  'Expecting string field', 'Expecting numeric field', 'Illegal operation for field type', 'Field not found',
  'Illegal integer value', "Couldn't find or set field in one of a subsystem's events", 'Too many terms in predicate expression',
  'Meaningless filter expression', "Only 'ip' field is supported for function trace", 'Invalid value (did you forget quotes)?',
  'Error', 'No filter found',
] as const;
const E = {
  INVALID_OP: 1, TOO_MANY_OPEN: 2, TOO_MANY_CLOSE: 3, MISSING_QUOTE: 4, OPERAND_TOO_LONG: 5, EXPECT_STRING: 6, EXPECT_DIGIT: 7,
  ILLEGAL_FIELD_OP: 8, FIELD_NOT_FOUND: 9, ILLEGAL_INTVAL: 10, TOO_MANY_PREDS: 12, INVALID_FILTER: 13, INVALID_VALUE: 15, ERRNO: 16, NO_FILTER: 17,
} as const;

const OPS = ['~', '!=', '==', '<=', '<', '>=', '>', '&'] as const;
type Op = typeof OPS[number];
/** MAX_FILTER_STR_VAL */
const MAX_FILTER_STR_VAL = 256;

type Match = 'full' | 'front' | 'middle' | 'end' | 'glob';
interface Pred { field: FilterField; op: Op; val: bigint; pattern: string; match: Match; not: boolean }
interface ProgEntry { target: number; whenToBranch: boolean; pred?: Pred }

export type FieldReader = (f: FilterField) => bigint | string;

export interface CompiledFilter {
  /** The filter text as the filter file shows it (trailing whitespace stripped). */
  text: string;
  match(read: FieldReader): boolean;
}

export type FilterResult =
  | { ok: true; filter: CompiledFilter }
  | { ok: false; errno: number; code: number; pos: number; text: string };

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
const isDigit = (c: string) => c >= '0' && c <= '9';
const isAlnum = (c: string) => isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

/** glob_match (lib/glob.c): *, ?, [...] (with ! or ^ and ranges), and \ escapes. */
export function globMatch(pat: string, str: string): boolean {
  let p = 0, s = 0, backP = -1, backS = -1;
  for (;;) {
    const c = s < str.length ? str[s]! : '';
    const d = p < pat.length ? pat[p++]! : '';
    let matched = true;
    if (d === '?') { if (c === '') return false; s++; continue; }
    if (d === '*') { if (p >= pat.length) return true; backP = p; backS = s; continue; }
    if (d === '[' && c !== '') {
      let inverted = false, ok = false, q = p;
      if (pat[q] === '!' || pat[q] === '^') { inverted = true; q++; }
      let a = pat[q++] ?? '';
      do {
        let b = a;
        if (a === '') { matched = false; break; }
        if (pat[q] === '-' && pat[q + 1] !== undefined && pat[q + 1] !== ']') { b = pat[q + 1]!; q += 2; if (a > b) [a, b] = [b, a]; }
        if (a <= c && c <= b) ok = true;
        a = pat[q++] ?? '';
      } while (a !== ']');
      if (matched && ok !== inverted) { p = q; s++; continue; }
      matched = false;
    } else if (d === '[') matched = false;
    if (matched) {
      let lit = d;
      if (lit === '\\') lit = p < pat.length ? pat[p++]! : '';
      if (c === lit) { if (lit === '') return true; s++; continue; }
    }
    if (c === '' || backP < 0) return false;
    p = backP;
    s = ++backS;
  }
}

/** filter_parse_regex for '~': the match kind, the pattern and a leading '!'. */
function parseRegex(buff: string): { match: Match; pattern: string; not: boolean } {
  let not = false;
  if (buff[0] === '!') { not = true; buff = buff.slice(1); }
  if (isDigit(buff[0] ?? '')) return { match: 'full', pattern: buff, not }; // MATCH_INDEX: matched in full
  let type: Match = 'full';
  for (let i = 0; i < buff.length; i++) {
    const c = buff[i]!;
    if (c === '*') {
      if (i === 0) type = 'end';
      else if (i === buff.length - 1) { type = type === 'end' ? 'middle' : 'front'; buff = buff.slice(0, i); break; }
      else return { match: 'glob', pattern: buff, not };
    } else if ('[?\\'.includes(c)) return { match: 'glob', pattern: buff, not };
  }
  return { match: type, pattern: type === 'end' || type === 'middle' ? buff.slice(1) : buff, not };
}

function regexMatch(p: Pred, s: string): boolean {
  switch (p.match) {
    case 'full': return s === p.pattern;
    case 'front': return s.startsWith(p.pattern);
    case 'middle': return s.includes(p.pattern);
    case 'end': return s.endsWith(p.pattern);
    case 'glob': return globMatch(p.pattern, s);
  }
}

function evalPred(p: Pred, read: FieldReader): boolean {
  const v = read(p.field);
  if (typeof v === 'string') return regexMatch(p, v) !== p.not;
  const bits = BigInt(Math.min(8, Math.max(1, p.field.size)) * 8);
  const cast = (x: bigint) => (p.field.signed ? BigInt.asIntN(Number(bits), x) : BigInt.asUintN(Number(bits), x));
  const a = cast(v), b = cast(p.val);
  switch (p.op) {
    case '==': return (a === b) !== p.not;
    case '!=': return (a === b) !== p.not;
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    case '>=': return a >= b;
    case '&': return (BigInt.asUintN(Number(bits), v) & BigInt.asUintN(Number(bits), p.val)) !== 0n;
    default: return false;
  }
}

interface ParseError { code: number; pos: number }

/** parse_pred: the predicate at `str` (the filter from `pos` on); its length or a negative errno. */
function parsePred(str: string, pos: number, fields: readonly FilterField[], pe: ParseError): { len: number; pred?: Pred } {
  const ch = (k: number) => str[k] ?? '';
  let i = 0;
  while (isSpace(ch(i))) i++;
  let s = i;
  while (isAlnum(ch(i)) || ch(i) === '_') i++;
  if (i === s) return { len: -1 };
  const name = str.slice(s, i);
  const field = fields.find((f) => f.name === name);
  if (!field) { Object.assign(pe, { code: E.FIELD_NOT_FOUND, pos: pos + i }); return { len: -EINVAL }; }
  if (str.startsWith('.ustring', i)) i += 8;
  while (isSpace(ch(i))) i++;
  const op = OPS.find((o) => str.startsWith(o, i));
  if (!op) { Object.assign(pe, { code: E.INVALID_OP, pos: pos + i }); return { len: -EINVAL }; }
  i += op.length;
  while (isSpace(ch(i))) i++;
  s = i;
  const isString = field.kind === 'str' || field.kind === 'comm';
  if (ch(i) === "'" || ch(i) === '"') {
    const q = ch(i);
    if (op !== '!=' && op !== '~' && op !== '==') { Object.assign(pe, { code: E.ILLEGAL_FIELD_OP, pos: pos + i }); return { len: -EINVAL }; }
    if (!isString) { Object.assign(pe, { code: E.EXPECT_DIGIT, pos: pos + i }); return { len: -EINVAL }; }
    for (i++; i < str.length; i++) if (str[i] === q) break;
    if (i >= str.length) { Object.assign(pe, { code: E.MISSING_QUOTE, pos: pos + i }); return { len: -EINVAL }; }
    const text = str.slice(s + 1, i);
    if (text.length >= MAX_FILTER_STR_VAL) { Object.assign(pe, { code: E.OPERAND_TOO_LONG, pos: pos + i }); return { len: -EINVAL }; }
    const r = op === '~' ? parseRegex(text) : { match: 'full' as Match, pattern: text, not: false };
    return { len: i + 1, pred: { field, op, val: 0n, pattern: r.pattern, match: r.match, not: op === '!=' || r.not } };
  }
  if (isDigit(ch(i)) || ch(i) === '-') {
    if (isString) { Object.assign(pe, { code: E.EXPECT_STRING, pos: pos + i }); return { len: -EINVAL }; }
    if (op === '~') { Object.assign(pe, { code: E.ILLEGAL_FIELD_OP, pos: pos + i }); return { len: -EINVAL }; }
    if (ch(i) === '-') i++;
    while (isAlnum(ch(i))) i++;
    const num = str.slice(s, i);
    if (num.length >= 24) { Object.assign(pe, { code: E.OPERAND_TOO_LONG, pos: pos + i }); return { len: -EINVAL }; }
    const r = field.signed ? kstrtol(num, 0) : kstrtoul(num, 0);
    if (!r.ok) { Object.assign(pe, { code: E.ILLEGAL_INTVAL, pos: pos + s }); return { len: -EINVAL }; }
    return { len: i, pred: { field, op, val: r.value & U64_MAX, pattern: '', match: 'full', not: op === '!=' } };
  }
  Object.assign(pe, { code: E.INVALID_VALUE, pos: pos + i });
  return { len: -EINVAL };
}

/** calc_stack: parentheses depth and predicate count, or the kernel's -1/-2/-3 with a position. */
function calcStack(str: string): { ok: true; parens: number; preds: number } | { ok: false; ret: number; pos: number } {
  let isPred = false, nrPreds = 0, open = 1, lastQuote = 0, maxOpen = 1, quote = '';
  let i = 0;
  for (; i < str.length; i++) {
    const c = str[i]!;
    if (isSpace(c)) continue;
    if (quote) { if (c === quote) quote = ''; continue; }
    switch (c) {
      case "'": case '"': quote = c; lastQuote = i; break;
      case '|': case '&':
        if (str[i + 1] !== c) break;
        isPred = false; continue;
      case '(': isPred = false; open++; if (open > maxOpen) maxOpen = open; continue;
      case ')':
        isPred = false;
        if (open === 1) return { ok: false, ret: -EPERM, pos: i };
        open--; continue;
    }
    if (!isPred) { nrPreds++; isPred = true; }
  }
  if (quote) return { ok: false, ret: -ESRCH, pos: lastQuote };
  if (open !== 1) {
    let level = open;
    for (i--; i; i--) {
      const c = str[i]!;
      if (quote) { if (c === quote) quote = ''; continue; }
      if (c === '(') { if (level === open) return { ok: false, ret: -ENOENT, pos: i }; level--; }
      else if (c === ')') level++;
      else if (c === "'" || c === '"') quote = c;
    }
    return { ok: false, ret: -ENOENT, pos: 0 };
  }
  return { ok: true, parens: maxOpen, preds: nrPreds };
}

const INVERT = 1, PROCESS_AND = 2, PROCESS_OR = 4;

/** predicate_parse: the branch program, or a negative errno with `pe` set. */
function predicateParse(str: string, nrParens: number, nrPredsIn: number, fields: readonly FilterField[], pe: ParseError): ProgEntry[] | number {
  const nrPreds = nrPredsIn + 2;
  const prog: ProgEntry[] = Array.from({ length: nrPreds }, () => ({ target: 0, whenToBranch: false }));
  const inverts: boolean[] = [];
  const stack: number[] = [0];
  let invert = 0, ret = -ENOMEM, n = 0, ptr = 0;
  const ch = (k: number) => str[k] ?? '';
  const updatePreds = (k: number, inv: number) => {
    const t = prog[k]!.target, s = prog[t]!.target;
    prog[t]!.whenToBranch = inv !== 0;
    prog[t]!.target = k;
    prog[k]!.target = s;
  };
  let out = false;
  outer: while (ch(ptr)) {
    const next = ptr++;
    const c = ch(next);
    if (isSpace(c)) continue;
    if (c === '(') {
      if (stack.length - 1 > nrParens) return -EINVAL;
      stack.push(invert);
      continue;
    }
    if (c === '!' && ch(next + 1) !== '=' && ch(next + 1) !== '~') { invert = invert ? 0 : 1; continue; }
    if (n >= nrPreds) { Object.assign(pe, { code: E.TOO_MANY_PREDS, pos: next }); return ret; }
    inverts[n] = invert !== 0;
    prog[n]!.target = n - 1;
    const r = parsePred(str.slice(next), ptr - 1, fields, pe);
    if (r.len < 0) return r.len;
    prog[n]!.pred = r.pred;
    ptr = next + r.len;
    n++;
    ret = -1;
    for (;;) {
      const nx = ptr++;
      const d = ch(nx);
      if (isSpace(d)) continue;
      if (d === '&' || d === '|') {
        if (ch(nx + 1) !== d) { Object.assign(pe, { code: E.TOO_MANY_PREDS, pos: nx }); return ret; }
        ptr++;
      } else if (d !== ')' && d !== '') { Object.assign(pe, { code: E.TOO_MANY_PREDS, pos: nx }); return ret; }
      const top = stack.length - 1;
      invert = stack[top]! & INVERT;
      if (stack[top]! & PROCESS_AND) { updatePreds(n - 1, invert); stack[top]! &= ~PROCESS_AND; }
      if (d === '&') { stack[top]! |= PROCESS_AND; break; }
      if (stack[top]! & PROCESS_OR) { updatePreds(n - 1, invert ? 0 : 1); stack[top]! &= ~PROCESS_OR; }
      if (d === '|') { stack[top]! |= PROCESS_OR; break; }
      if (d === '') { ptr = nx; out = true; break outer; }
      if (top === 0) { Object.assign(pe, { code: E.TOO_MANY_CLOSE, pos: ptr }); return -1; }
      stack.pop();
    }
  }
  // Only the inner loop can complete a non-empty expression.
  if (!out && n) { Object.assign(pe, { code: E.INVALID_FILTER, pos: ptr }); return -EINVAL; }
  if (stack.length !== 1) { Object.assign(pe, { code: E.TOO_MANY_OPEN, pos: ptr }); return ret; }
  if (!n) { Object.assign(pe, { code: E.NO_FILTER, pos: ptr }); return -EINVAL; }
  prog[n] = { target: 1, whenToBranch: false }; // TRUE
  prog[n + 1] = { target: 0, whenToBranch: false }; // FALSE
  prog[n - 1]!.target = n;
  prog[n - 1]!.whenToBranch = false;
  // Second pass: a jump to an entry that branches on the same result goes straight to its target.
  for (let i = n - 1; i--;) {
    const t = prog[i]!.target;
    if (prog[i]!.whenToBranch === prog[t]!.whenToBranch) prog[i]!.target = prog[t]!.target;
  }
  // Third pass: fold the inverts into when_to_branch.
  for (let i = 0; i < n; i++) {
    prog[i]!.whenToBranch = inverts[i] !== prog[i]!.whenToBranch;
    if (prog[i]!.target <= i) return -EINVAL;
  }
  return prog.slice(0, n + 2);
}

/** filter_match_preds over a program. */
function runProg(prog: readonly ProgEntry[], read: FieldReader): boolean {
  let i = 0;
  for (; prog[i]!.pred; i++) {
    const e = prog[i]!;
    if (evalPred(e.pred!, read) === e.whenToBranch) i = e.target;
  }
  return prog[i]!.target !== 0;
}

/**
 * create_filter(..., set_str): `text` is the filter as written (apply_event_filter strips trailing
 * whitespace first). On failure: the errno the write returns, the FILT_ERR code and position.
 */
export function compileFilter(written: string, fields: readonly FilterField[]): FilterResult {
  const text = written.replace(/\s+$/, '');
  const pe: ParseError = { code: 0, pos: 0 };
  const cs = calcStack(text);
  let res: ProgEntry[] | number;
  if (!cs.ok) {
    pe.code = cs.ret === -ESRCH ? E.MISSING_QUOTE : cs.ret === -ENOENT ? E.TOO_MANY_OPEN : E.TOO_MANY_CLOSE;
    pe.pos = cs.pos;
    res = cs.ret;
  } else if (!cs.preds) res = -EINVAL;
  else res = predicateParse(text, cs.parens, cs.preds, fields, pe);
  if (typeof res === 'number') return { ok: false, errno: res, code: pe.code, pos: pe.pos, text };
  const prog = res;
  return { ok: true, filter: { text, match: (read) => runProg(prog, read) } };
}

/**
 * What the filter file shows after a failed write (append_filter_err): the text, a caret under the
 * error and "parse_error: MESSAGE" (or "Error: (ERRNO)" when no parse error was recorded).
 */
export function filterErrorText(r: { code: number; pos: number; text: string; errno: number }): string {
  if (r.code > 0) {
    const pos = Math.min(r.pos, r.text.length);
    return `${r.text}\n${'^'.padStart(pos ? pos + 1 : 0)}\nparse_error: ${FILTER_ERRORS[r.code]}`;
  }
  return `${r.text}\nError: (${r.code})`;
}

/** The error_log entry of a failed event filter (tracing_log_err with "event filter parse error"). */
export function filterLogEntry(r: { code: number; pos: number; text: string }): { code: string; subsystem: string; message: string; command: string; pos: number } {
  const code = r.code > 0 ? r.code : E.ERRNO;
  return { code: `FILT_ERR_${code}`, subsystem: 'event filter parse error', message: FILTER_ERRORS[code]!, command: r.text, pos: r.code > 0 ? r.pos : 0 };
}

