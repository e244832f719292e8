// traceprobe_parse_probe_arg and everything under it (kernel/trace/trace_probe.c): NAME=, the
// ":TYPE[N]" suffix, the recursive fetch-argument grammar, and the final store/modify/loop checks.
// It follows the kernel step by step, including its fixed 16-slot instruction buffer (the source of
// "Dereference is too much nested") and where each error puts the caret, quirks included: the
// offset a "+u" dereference reports is one left of the inner argument, and the type offset in
// late errors is counted from the innermost dereference, exactly as the kernel computes them.
// The configuration modelled is x86-64 with CONFIG_HAVE_FUNCTION_ARG_ACCESS_API and without
// CONFIG_PROBE_EVENTS_BTF_ARGS (the fixture kernel has no BTF).
import type { ErrCode } from './errors.js';
import type { Bitfield, FetchOp, ProbeArg } from './fetch.js';
import { isDigit, isAlpha, kstrtol, kstrtoul, kstrtouint, simpleStrtoul, U64_MAX } from './numbers.js';
import { isRegName } from './regs.js';
import { findFetchType, FETCH_TYPES, type FetchType } from './types.js';
import { EINVAL, E2BIG, EOPNOTSUPP } from '../../base/errno.js';

export const MAX_TRACE_ARGS = 128;
export const MAX_ARGSTR_LEN = 63;
export const MAX_ARRAY_LEN = 64;
export const MAX_ARG_NAME_LEN = 32;
/** FETCH_INSN_MAX: fetch + derefs + store + modify + loop + end must fit. */
const FETCH_INSN_MAX = 16;
const END_SLOT = FETCH_INSN_MAX - 1;
/** PARAM_MAX_STACK = THREAD_SIZE / sizeof(unsigned long): 16 KiB stacks on x86-64. */
export const PARAM_MAX_STACK = 16384 / 8;

const RESERVED_FIELD_NAMES = ['common_type', 'common_flags', 'common_preempt_count', 'common_pid', 'common_tgid',
  '__probe_ip', '__probe_ret_ip', '__probe_func'];

/** The parse flags that matter for a kprobe (TPARG_FL_KERNEL is implied). */
export interface ArgFlags {
  /** TPARG_FL_RETURN: a return probe on a symbol. */
  ret: boolean;
  /** TPARG_FL_FENTRY: a probe at a function's entry. */
  fentry: boolean;
}

/** An error the argument parser logged: caret `offset` within the argument word. */
export interface ArgError { offset: number; code: ErrCode; errno: number }

type Op = 'NOP' | 'END' | 'REG' | 'STACK' | 'STACKP' | 'RETVAL' | 'IMM' | 'COMM' | 'ARG' | 'EDATA' | 'DATA' | 'SYMBOL'
  | 'DEREF' | 'UDEREF' | 'ST_RAW' | 'ST_MEM' | 'ST_UMEM' | 'ST_STRING' | 'ST_USTRING' | 'ST_SYMSTR' | 'MOD_BF' | 'LP_ARRAY';

interface Ctx {
  flags: ArgFlags;
  /** ctx->offset: where the current sub-argument starts within the word. */
  offset: number;
  code: Op[];
  err?: ArgError;
}


function fail(ctx: Ctx, offset: number, code: ErrCode, errno = -EINVAL): undefined {
  ctx.err ??= { offset, code, errno };
  return undefined;
}

/** is_good_name: a C identifier. */
export function isGoodName(name: string): boolean {
  if (name.length === 0) return false;
  if (!isAlpha(name[0]) && name[0] !== '_') return false;
  for (let i = 1; i < name.length; i++) {
    const c = name[i];
    if (!isAlpha(c) && !isDigit(c) && c !== '_') return false;
  }
  return true;
}

/** parse_probe_vars: `arg` starts with '$'. */
function parseProbeVars(arg: string, ctx: Ctx, pc: number): FetchOp | undefined {
  const a = arg.slice(1);
  let err: ErrCode = 'BAD_VAR';
  if (a.startsWith('retval')) {
    if (!ctx.flags.ret) return fail(ctx, ctx.offset, 'RETVAL_ON_PROBE');
    ctx.code[pc] = 'RETVAL';
    return { kind: 'retval' };
  }
  if (a.startsWith('stack')) {
    if (a.length === 5) { ctx.code[pc] = 'STACKP'; return { kind: 'stackp' }; }
    if (isDigit(a[5])) {
      const r = kstrtoul(a.slice(5), 10);
      if (!r.ok) return fail(ctx, ctx.offset, err);
      if (r.value > BigInt(PARAM_MAX_STACK)) return fail(ctx, ctx.offset, 'BAD_STACK_NUM');
      ctx.code[pc] = 'STACK';
      return { kind: 'stack', index: Number(r.value) };
    }
    return fail(ctx, ctx.offset, err);
  }
  if (a === 'comm' || a === 'COMM') { ctx.code[pc] = 'COMM'; return { kind: 'comm' }; }
  if (a.startsWith('arg')) {
    const r = kstrtoul(a.slice(3), 10);
    if (!r.ok) return fail(ctx, ctx.offset, err);
    if (r.value === 0n || r.value > BigInt(PARAM_MAX_STACK)) return fail(ctx, ctx.offset, 'BAD_ARG_NUM');
    if (ctx.flags.fentry) { ctx.code[pc] = 'ARG'; return { kind: 'arg', index: Number(r.value), entry: false }; }
    if (ctx.flags.ret) { ctx.code[pc] = 'EDATA'; return { kind: 'arg', index: Number(r.value), entry: true }; }
    err = 'NOFENTRY_ARGS';
  }
  return fail(ctx, ctx.offset, err);
}

/** str_to_immediate. */
function strToImmediate(s: string): bigint | undefined {
  let r;
  if (isDigit(s[0])) r = kstrtoul(s, 0);
  else if (s[0] === '-') r = kstrtol(s, 0);
  else if (s[0] === '+') r = kstrtol(s.slice(1), 0);
  else return undefined;
  return r.ok ? r.value & U64_MAX : undefined;
}

/** parse_probe_arg: the recursive part. Returns the op tree and the slot of the last op. */
function parseProbeArg(arg: string, ctx: Ctx, pc0: number): { op: FetchOp; pc: number } | undefined {
  let pc = pc0;
  let op: FetchOp | undefined;
  switch (arg[0]) {
    case '$':
      op = parseProbeVars(arg, ctx, pc);
      if (!op) return undefined;
      break;
    case '%': {
      const name = arg.slice(1);
      if (!isRegName(name)) return fail(ctx, ctx.offset, 'BAD_REG_NAME');
      ctx.code[pc] = 'REG';
      op = { kind: 'reg', reg: name };
      break;
    }
    case '@': {
      if (isDigit(arg[1])) {
        const r = kstrtoul(arg.slice(1), 0);
        if (!r.ok) return fail(ctx, ctx.offset, 'BAD_MEM_ADDR');
        ctx.code[pc] = 'IMM';
        op = { kind: 'mem', addr: r.value };
      } else if (arg[1] === '+') {
        // kprobes don't support file offsets
        return fail(ctx, ctx.offset, 'FILE_ON_KPROBE');
      } else {
        ctx.code[pc] = 'SYMBOL';
        if (++pc === END_SLOT) return fail(ctx, ctx.offset, 'TOO_MANY_OPS');
        ctx.code[pc] = 'IMM';
        op = { kind: 'sym', text: arg.slice(1) };
      }
      if (++pc === END_SLOT) return fail(ctx, ctx.offset, 'TOO_MANY_OPS');
      ctx.code[pc] = 'DEREF';
      break;
    }
    case '+':
    case '-': {
      // The kernel edits the string in place: "+u8(" becomes "+8(" one character later, then a
      // leading '+' is skipped because kstrtol() rejects it. The offset arithmetic below is its.
      const user = arg[1] === 'u';
      const v = user ? arg[0] + arg.slice(2) : arg;
      const w = v[0] === '+' ? v.slice(1) : v;
      const open = w.indexOf('(');
      if (open < 0) return fail(ctx, ctx.offset, 'DEREF_NEED_BRACE');
      const offs = kstrtol(w.slice(0, open), 0);
      if (!offs.ok) return fail(ctx, ctx.offset, 'BAD_DEREF_OFFS');
      ctx.offset += open + 1 + (w[0] !== '-' ? 1 : 0);
      const rest = w.slice(open + 1);
      const close = rest.lastIndexOf(')');
      if (close < 0) return fail(ctx, ctx.offset + rest.length, 'DEREF_OPEN_BRACE');
      const cur = ctx.offset;
      // Text after the last ')' is dropped, as the kernel's strrchr + NUL does.
      const inner = parseProbeArg(rest.slice(0, close), ctx, pc);
      if (!inner) return undefined;
      ctx.offset = cur;
      pc = inner.pc;
      if (ctx.code[pc] === 'COMM' || ctx.code[pc] === 'DATA') return fail(ctx, ctx.offset, 'COMM_CANT_DEREF');
      if (++pc === END_SLOT) return fail(ctx, ctx.offset, 'TOO_MANY_OPS');
      ctx.code[pc] = user ? 'UDEREF' : 'DEREF';
      op = { kind: 'deref', offset: offs.value, user, base: inner.op };
      break;
    }
    case '\\':
      if (arg[1] === '"') {
        const s = arg.slice(2);
        // __parse_imm_string checks str[len-1]; for an empty string that is the opening quote,
        // so `\"` alone is accepted as an empty string.
        if (s.length > 0 && s[s.length - 1] !== '"') return fail(ctx, ctx.offset + 2 + s.length, 'IMMSTR_NO_CLOSE');
        ctx.code[pc] = 'DATA';
        op = { kind: 'immstr', text: s.length > 0 ? s.slice(0, -1) : '' };
      } else {
        const v = strToImmediate(arg.slice(1));
        if (v === undefined) return fail(ctx, ctx.offset + 1, 'BAD_IMM');
        ctx.code[pc] = 'IMM';
        op = { kind: 'imm', value: v };
      }
      break;
    default:
      // A bare name would be a BTF argument; without BTF the kernel reports it as unsupported.
      if (isAlpha(arg[0]) || arg[0] === '_') return fail(ctx, ctx.offset, 'NOSUP_BTFARG', -EOPNOTSUPP);
  }
  if (!op || ctx.code[pc] === 'NOP') return fail(ctx, ctx.offset, 'BAD_FETCH_ARG');
  return { op, pc };
}

/** __parse_bitfield_probe_arg: "b<width>@<offset>/<size>"; undefined means not a bitfield. */
function parseBitfield(spec: string, t: FetchType, ctx: Ctx, pc: number): { bf?: Bitfield; pc: number } | 'error' {
  if (spec[0] !== 'b') return { pc };
  const w = simpleStrtoul(spec, 1, 0);
  if (w.value === 0n || spec[w.end] !== '@') return 'error';
  const o = simpleStrtoul(spec, w.end + 1, 0);
  if (o.end === w.end + 1 || spec[o.end] !== '/') return 'error';
  pc++;
  if (ctx.code[pc] !== 'NOP') return 'error';
  ctx.code[pc] = 'MOD_BF';
  if (BigInt(t.size * 8) < w.value + o.value) return 'error';
  return { bf: { width: Number(w.value), offset: Number(o.value), container: t.size }, pc };
}

/** traceprobe_parse_probe_arg_body with parse_probe_arg_type and finalize_fetch_insn. */
function parseArgBody(body: string, ctx: Ctx): Omit<ProbeArg, 'name'> | undefined {
  if (body.length > MAX_ARGSTR_LEN) return fail(ctx, ctx.offset, 'ARG_TOO_LONG', -E2BIG);
  if (body.length === 0) return fail(ctx, ctx.offset, 'NO_ARG_BODY');

  // parse_probe_arg_type: split ":TYPE" and "[N]".
  let arg = body, tname: string | undefined, count = 0;
  const colon = body.indexOf(':');
  if (colon >= 0) {
    arg = body.slice(0, colon);
    tname = body.slice(colon + 1);
    const lb = tname.indexOf('[');
    if (lb >= 0) {
      const t2 = colon + 1 + lb + 1; // where the count starts, in body coordinates
      const rest = tname.slice(lb + 1);
      tname = tname.slice(0, lb);
      const rb = rest.indexOf(']');
      if (rb < 0) return fail(ctx, ctx.offset + body.length, 'ARRAY_NO_CLOSE');
      if (rb + 1 !== rest.length) return fail(ctx, ctx.offset + t2 + rb + 1, 'BAD_ARRAY_SUFFIX');
      const n = kstrtouint(rest.slice(0, rb), 0);
      if (!n.ok || n.value === 0n) return fail(ctx, ctx.offset + t2, 'BAD_ARRAY_NUM');
      if (n.value > BigInt(MAX_ARRAY_LEN)) return fail(ctx, ctx.offset + t2, 'ARRAY_TOO_BIG');
      count = Number(n.value);
    }
  }
  const toffs = tname !== undefined ? colon + 1 : 0;
  let type: FetchType | undefined;
  if (arg === '$comm' || arg === '$COMM' || arg.startsWith('\\"')) {
    // $comm and immediate strings can only be strings, never arrays.
    if (count || (tname !== undefined && tname !== 'string')) return fail(ctx, ctx.offset + toffs, 'NEED_STRING_TYPE');
    type = FETCH_TYPES.string;
  } else {
    type = findFetchType(tname);
  }
  if (!type) return fail(ctx, ctx.offset + toffs, 'BAD_TYPE');

  ctx.code = new Array<Op>(FETCH_INSN_MAX).fill('NOP');
  ctx.code[END_SLOT] = 'END';
  const parsed = parseProbeArg(arg, ctx, 0);
  if (!parsed) return undefined;
  let pc = parsed.pc;

  // finalize_fetch_insn: the store operation.
  const last = ctx.code[pc]!;
  if (type.isString) {
    if (type.name === 'symstr') {
      if (!['REG', 'STACK', 'RETVAL', 'ARG', 'DEREF'].includes(last)) return fail(ctx, ctx.offset + toffs, 'BAD_SYMSTRING');
    } else if (!['DEREF', 'UDEREF', 'IMM', 'COMM', 'DATA'].includes(last)) {
      return fail(ctx, ctx.offset + toffs, 'BAD_STRING');
    }
    if (type.name === 'symstr' || last === 'IMM' || last === 'COMM' || last === 'DATA' || count) {
      pc++;
      if (ctx.code[pc] !== 'NOP') return fail(ctx, ctx.offset, 'TOO_MANY_OPS');
    }
    ctx.code[pc] = type.name === 'ustring' || ctx.code[pc] === 'UDEREF' ? 'ST_USTRING'
      : type.name === 'symstr' ? 'ST_SYMSTR' : 'ST_STRING';
  } else if (last === 'DEREF') {
    ctx.code[pc] = 'ST_MEM';
  } else if (last === 'UDEREF') {
    ctx.code[pc] = 'ST_UMEM';
  } else {
    pc++;
    if (ctx.code[pc] !== 'NOP') return fail(ctx, ctx.offset, 'TOO_MANY_OPS', -E2BIG);
    ctx.code[pc] = 'ST_RAW';
  }
  const store = ctx.code[pc]!;

  // Modify: bitfield.
  let bitfield: Bitfield | undefined;
  if (tname !== undefined) {
    const r = parseBitfield(tname, type, ctx, pc);
    if (r === 'error') return fail(ctx, ctx.offset + toffs, 'BAD_BITFIELD');
    bitfield = r.bf;
    pc = r.pc;
  }
  // Loop: arrays need memory (or string) storage.
  if (count) {
    if (store !== 'ST_MEM' && store !== 'ST_STRING' && store !== 'ST_USTRING') return fail(ctx, ctx.offset + toffs, 'BAD_STRING');
    pc++;
    if (ctx.code[pc] !== 'NOP') return fail(ctx, ctx.offset, 'TOO_MANY_OPS', -E2BIG);
    ctx.code[pc] = 'LP_ARRAY';
  }
  const out: Omit<ProbeArg, 'name'> = { comm: body, type, count, fetch: parsed.op };
  if (bitfield) out.bitfield = bitfield;
  return out;
}

/**
 * traceprobe_parse_probe_arg for the i-th argument (0-based) given the arguments before it.
 * Errors carry the caret offset within this argument word.
 */
export function parseProbeArgument(word: string, index: number, previous: readonly ProbeArg[], flags: ArgFlags):
  { ok: true; arg: ProbeArg } | { ok: false; err: ArgError } {
  const ctx: Ctx = { flags, offset: 0, code: [] };
  const eq = word.indexOf('=');
  let name: string, body: string;
  if (eq >= 0) {
    if (eq > MAX_ARG_NAME_LEN) return { ok: false, err: { offset: 0, code: 'ARG_NAME_TOO_LONG', errno: -EINVAL } };
    if (eq === 0) return { ok: false, err: { offset: 0, code: 'NO_ARG_NAME', errno: -EINVAL } };
    name = word.slice(0, eq);
    body = word.slice(eq + 1);
  } else {
    // generate_probe_arg_name without BTF: "arg%d" counting from 1.
    name = `arg${index + 1}`;
    body = word;
  }
  if (!isGoodName(name)) return { ok: false, err: { offset: 0, code: 'BAD_ARG_NAME', errno: -EINVAL } };
  if (RESERVED_FIELD_NAMES.includes(name) || previous.some((a) => a.name === name)) {
    return { ok: false, err: { offset: 0, code: 'USED_ARG_NAME', errno: -EINVAL } };
  }
  ctx.offset = eq >= 0 ? eq + 1 : 0;
  const r = parseArgBody(body, ctx);
  if (!r) return { ok: false, err: ctx.err! };
  return { ok: true, arg: { name, ...r } };
}
