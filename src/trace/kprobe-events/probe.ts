// One kprobe_events line → a probe definition or a delete request (kernel/trace/trace_kprobe.c
// trace_kprobe_create_internal, create_or_delete_trace_kprobe; trace_dynevent.c dyn_event_release).
// The checks run in the kernel's order (maxactive, then the probe point, then the event name, then
// the arguments), because the first failure is the one error_log reports.
import { argvSplit } from './argv.js';
import { probeLogErr, type ErrCode, type ProbeError } from './errors.js';
import type { ProbeArg } from './fetch.js';
import { isGoodName, parseProbeArgument, MAX_TRACE_ARGS, type ArgFlags } from './fetcharg.js';
import { isDigit, kstrtol, kstrtoul, kstrtouint, U32_MAX } from './numbers.js';
import type { SymbolResolver } from './resolver.js';
import { hex16 } from '../../base/addr.js';
import { EINVAL, EOPNOTSUPP, E2BIG } from '../../base/errno.js';

export const KPROBE_EVENT_SYSTEM = 'kprobes';
export const KRETPROBE_MAXACTIVE_MAX = 4096;
export const MAX_EVENT_NAME_LEN = 64;

export interface ProbeDef {
  /** 'r' for kretprobes, including `p ... SYM%return`. */
  type: 'p' | 'r';
  group: string;
  event: string;
  /** The probed symbol as written, module prefix included ("mod:sym"); undefined for MEMADDR. */
  symbol?: string;
  /** Offset from the symbol (0..UINT_MAX). */
  offset: number;
  /** MEMADDR probes: the address as written (unsigned 64-bit). */
  addr?: bigint;
  /** r[MAXACTIVE]; 0 means the default. */
  maxactive: number;
  args: ProbeArg[];
  /**
   * The kernel's parse flags for this probe: TPARG_FL_FENTRY (symbol probe at a function entry) and
   * TPARG_FL_RETURN (return probe on a symbol).
   */
  flags: ArgFlags;
  /** The command's words (argv_split), for errors logged later against this command. */
  argv: string[];
}

export interface DeleteSpec {
  /** Group, when given as GRP/EVENT. */
  group?: string;
  /** Event name; '' with a group matches every event of the group. */
  event: string;
  /** Further words: the probe point and arguments a matching probe must have (trace_kprobe_match). */
  match: string[];
}

export type KprobeCommand =
  | { kind: 'none' }
  | { kind: 'create'; probe: ProbeDef }
  | { kind: 'delete'; spec: DeleteSpec };

/**
 * A failed command: errno, and what the kernel appends to error_log — usually one entry, none for
 * some failures, and two when "$arg*" meets a kernel without BTF (the kernel logs NOSUP_BTFARG,
 * carries on, and then fails on the word). `err` is the last entry (the one a caret check reads).
 */
export interface CommandFailure { ok: false; errno: number; err?: ProbeError; log: ProbeError[] }
export type CommandResult = { ok: true; command: KprobeCommand } | CommandFailure;

/** is_good_system_name: a C identifier that may also contain '-'. */
export function isGoodSystemName(name: string): boolean {
  return isGoodName(name.replace(/-/g, '_'));
}

/** sanitize_event_name: ':', '.' and '*' become '_' (the first character is left alone). */
export function sanitizeEventName(name: string): string {
  return name[0] + name.slice(1).replace(/[:.*]/g, '_');
}


/** The event name the kernel makes when none is given: "p_vfs_read_0", "r_0x<addr>". */
export function defaultEventName(isReturn: boolean, symbol: string | undefined, offset: number, addr?: bigint): string {
  const c = isReturn ? 'r' : 'p';
  const raw = symbol !== undefined ? `${c}_${symbol}_${offset}` : `${c}_0x${hex16(addr ?? 0n)}`;
  // snprintf into a MAX_EVENT_NAME_LEN buffer keeps 63 characters.
  return sanitizeEventName(raw.slice(0, MAX_EVENT_NAME_LEN - 1));
}

function failure(argv: readonly string[], index: number, offset: number, code: ErrCode, errno = -EINVAL,
  earlier: ProbeError[] = []): CommandFailure {
  const err = probeLogErr(argv, index, offset, code);
  return { ok: false, errno, err, log: [...earlier, err] };
}
const silent = (errno = -EINVAL): CommandFailure => ({ ok: false, errno, log: [] });

/** traceprobe_parse_event_name: "[GRP/]EVENT" (or GRP.EVENT) starting at `offset` in argv[0]. */
function parseEventName(argv: readonly string[], text: string, offset: number):
  { ok: true; group?: string; event?: string } | CommandFailure {
  let slash = text.indexOf('/');
  if (slash < 0) slash = text.indexOf('.');
  let group: string | undefined, event = text;
  if (slash >= 0) {
    if (slash === 0) return failure(argv, 0, offset, 'NO_GROUP_NAME');
    if (slash + 1 > MAX_EVENT_NAME_LEN) return failure(argv, 0, offset, 'GROUP_TOO_LONG');
    group = text.slice(0, slash);
    if (!isGoodSystemName(group)) return failure(argv, 0, offset, 'BAD_GROUP_NAME');
    event = text.slice(slash + 1);
    offset += slash + 1;
  }
  if (event.length === 0) {
    if (slash >= 0) return { ok: true, group };
    return failure(argv, 0, offset, 'NO_EVENT_NAME');
  }
  if (event.length > MAX_EVENT_NAME_LEN) return failure(argv, 0, offset, 'EVENT_TOO_LONG');
  if (!isGoodName(event)) return failure(argv, 0, offset, 'BAD_EVENT_NAME');
  return { ok: true, group, event };
}

/** The kernel's trace_kprobe_create_internal for one already-split command. */
export function parseCreate(argv: string[], resolver: SymbolResolver): CommandResult {
  const w0 = argv[0]!;
  let isReturn: boolean;
  if (w0[0] === 'r') isReturn = true;
  else if (w0[0] === 'p') isReturn = false;
  else return silent(); // -ECANCELED: not a kprobe command
  if (argv.length < 2) return silent();

  const colon = w0.indexOf(':', 1);
  const eventText = colon >= 0 ? w0.slice(colon + 1) : undefined;

  let maxactive = 0;
  if (isDigit(w0[1])) {
    if (!isReturn) return failure(argv, 0, 1, 'BAD_MAXACT_TYPE');
    const len = colon >= 0 ? colon - 1 : w0.length - 1;
    if (len > MAX_EVENT_NAME_LEN - 1) return failure(argv, 0, 1, 'BAD_MAXACT');
    const r = kstrtouint(w0.slice(1, 1 + len), 0);
    if (!r.ok || r.value === 0n) return failure(argv, 0, 1, 'BAD_MAXACT');
    if (r.value > BigInt(KRETPROBE_MAXACTIVE_MAX)) return failure(argv, 0, 1, 'MAXACT_TOO_BIG');
    maxactive = Number(r.value);
  }

  const flags: ArgFlags = { ret: false, fentry: false };
  let symbol: string | undefined, offset = 0, addr: bigint | undefined;
  const place = argv[1]!;
  const asAddr = kstrtoul(place, 0);
  if (asAddr.ok) {
    addr = asAddr.value;
  } else {
    // A uprobe spec (PATH:OFFSET) is not ours.
    if (place.includes('/') && place.includes(':')) return silent();
    let sym = place;
    const pct = sym.indexOf('%');
    if (pct >= 0) {
      if (sym.slice(pct) !== '%return') return failure(argv, 1, pct, 'BAD_ADDR_SUFFIX');
      sym = sym.slice(0, pct);
      isReturn = true;
    }
    // traceprobe_split_symbol_offset: the first '+' or '-' starts a kstrtol() offset.
    const sign = sym.search(/[+-]/);
    if (sign >= 0) {
      const o = kstrtol(sym.slice(sign), 0);
      if (!o.ok || o.value < 0n || o.value > U32_MAX) return failure(argv, 1, 0, 'BAD_PROBE_ADDR');
      offset = Number(o.value);
      sym = sym.slice(0, sign);
    }
    // validate_probe_symbol: a symbol of a module that is not loaded is accepted (and registered later).
    const mc = sym.indexOf(':');
    const moduleMissing = mc >= 0 && !(resolver.hasModule?.(sym.slice(0, mc)) ?? false);
    if (!moduleMissing) {
      const n = resolver.count(mc >= 0 ? sym.slice(mc + 1) : sym);
      if (n > 1) return failure(argv, 1, 0, 'NON_UNIQ_SYMBOL');
      if (n === 0) return failure(argv, 1, 0, 'BAD_PROBE_ADDR');
    }
    symbol = sym;
    if (isReturn) flags.ret = true;
    // kprobe_on_func_entry: ENOENT (unknown) is deferred to registration; EINVAL matters for %return.
    const at = resolver.lookup(sym);
    if (at !== undefined) {
      const entry = resolver.isFunctionEntry(at, offset);
      if (entry && !isReturn) flags.fentry = true;
      if (!entry && isReturn) return failure(argv, 1, 0, 'BAD_RETPROBE');
    }
  }

  let group = KPROBE_EVENT_SYSTEM, event: string | undefined;
  if (eventText !== undefined) {
    const r = parseEventName(argv, eventText, colon + 1);
    if (!r.ok) return r;
    if (r.group !== undefined) group = r.group;
    event = r.event;
  }
  event ??= defaultEventName(isReturn, symbol, offset, addr);

  // traceprobe_expand_meta_args / argv_has_var_arg: every word starting "$arg" is checked first.
  const words = argv.slice(2);
  const fentryOrReturn = flags.fentry || flags.ret;
  let star = -1, logIndex = -1;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('$arg')) continue;
    logIndex = i + 2;
    if (!fentryOrReturn) return failure(argv, i + 2, 0, 'NOFENTRY_ARGS');
    if (isDigit(w[4])) continue;
    if (w[4] !== '*') return failure(argv, i + 2, 0, 'BAD_VAR');
    if (star >= 0) return failure(argv, i + 2, 0, 'DOUBLE_ARGS');
    star = i;
  }
  // "$arg*" needs the function's parameters from BTF, which this kernel lacks: the kernel logs
  // that (at the last "$arg" word it looked at) and goes on, to fail again on "$arg*" itself.
  const earlier = star >= 0 ? [probeLogErr(argv, logIndex, 0, 'NOSUP_BTFARG')] : [];
  if (words.length > MAX_TRACE_ARGS) return failure(argv, 2, 0, 'TOO_MANY_ARGS', -E2BIG, earlier);

  const args: ProbeArg[] = [];
  for (let i = 0; i < words.length; i++) {
    const r = parseProbeArgument(words[i]!, i, args, flags);
    if (!r.ok) return failure(argv, i + 2, r.err.offset, r.err.code, r.err.errno, earlier);
    args.push(r.arg);
  }
  if (earlier.length) return { ok: false, errno: -EOPNOTSUPP, err: earlier[0]!, log: earlier }; // not reached: $arg* never parses
  const probe: ProbeDef = { type: isReturn ? 'r' : 'p', group, event, offset, maxactive, args, flags, argv };
  if (symbol !== undefined) probe.symbol = symbol;
  if (addr !== undefined) probe.addr = addr;
  return { ok: true, command: { kind: 'create', probe } };
}

/** dyn_event_release's parse of "-:[GRP/]EVENT [match...]". */
export function parseDelete(argv: string[]): CommandResult {
  const w0 = argv[0]!;
  let text: string;
  if (w0[0] === '-') {
    if (w0[1] !== ':') return silent();
    text = w0.slice(2);
  } else {
    const c = w0.indexOf(':');
    if (c < 0) return silent();
    text = w0.slice(c + 1);
  }
  let group: string | undefined, event = text;
  const slash = text.indexOf('/');
  if (slash >= 0) { group = text.slice(0, slash); event = text.slice(slash + 1); }
  if (group === undefined && event === '') return silent();
  const spec: DeleteSpec = { event, match: argv.slice(1) };
  if (group !== undefined) spec.group = group;
  return { ok: true, command: { kind: 'delete', spec } };
}

/**
 * One line written to kprobe_events (after comment removal): create_or_delete_trace_kprobe.
 * A blank line is a no-op.
 */
export function parseKprobeCommand(line: string, resolver: SymbolResolver): CommandResult {
  if (line[0] === '-') return parseDelete(argvSplit(line));
  const argv = argvSplit(line);
  if (argv.length === 0) return { ok: true, command: { kind: 'none' } };
  return parseCreate(argv, resolver);
}

/** A resolver that takes every symbol as one unresolved name: kprobe_events text read without a kernel. */
const ANY_SYMBOL: SymbolResolver = { lookup: () => undefined, count: () => 1, isFunctionEntry: () => true };

/** The probes a kprobe_events text creates, each line parsed as the kernel parses it but no symbol resolved
 *  (text stored for another kernel reads too); lines that do not parse are left out. */
export function probesOf(text: string, resolver: SymbolResolver = ANY_SYMBOL): ProbeDef[] {
  const out: ProbeDef[] = [];
  for (const line of text.split('\n')) {
    const r = parseKprobeCommand(line, resolver);
    if (r.ok && r.command.kind === 'create') out.push(r.command.probe);
  }
  return out;
}
