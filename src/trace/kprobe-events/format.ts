// Text the trace side prints: each fetch type's print function (trace_probe.c PRINT_TYPE_FUNC_NAME,
// trace_probe_print_args), a kprobe/kretprobe event line (trace_kprobe.c print_kprobe_event,
// print_kretprobe_event) with the ftrace context columns (trace_output.c trace_print_context,
// trace_print_lat_fmt, trace_print_time), the trace file header (trace.c print_event_info,
// print_func_help_header_irq), and an event's format file (trace_events.c f_show with the probe's
// fields and print fmt, trace_probe.c traceprobe_set_print_fmt).
import type { ArgValue, ScalarValue } from './eval.js';
import type { ProbeArg } from './fetch.js';
import type { ProbeDef } from './probe.js';
import type { FetchType } from './types.js';

/** Address → text, as kallsyms does it for the trace output. */
export interface Symbolizer {
  /** sprint_symbol (%pS): "vfs_read+0x4/0x80", or "0x<hex>" when no symbol covers it. */
  withOffset(addr: bigint): string;
  /** kallsyms_lookup's name only (%ps), undefined when no symbol covers it. */
  noOffset(addr: bigint): string | undefined;
  /** is_kretprobe_trampoline: such addresses print as "[unknown/kretprobe'd]" in event lines. */
  isKretprobeTrampoline?(addr: bigint): boolean;
}

export const FAULT_STRING = '(fault)';

function signedOf(v: bigint, bits: number): bigint {
  return BigInt.asIntN(bits, v);
}

/** One stored value through its type's print function. */
export function formatScalar(type: FetchType, v: ScalarValue, sym: Symbolizer): string {
  if (type.isString) return v.kind === 'str' ? `"${v.text}"` : FAULT_STRING;
  const n = v.kind === 'num' ? v.value : 0n;
  const bits = type.size * 8;
  switch (type.name) {
    case 'u8': case 'u16': case 'u32': case 'u64': return BigInt.asUintN(bits, n).toString();
    case 's8': case 's16': case 's32': case 's64': return signedOf(n, bits).toString();
    case 'x8': case 'x16': case 'x32': case 'x64': return '0x' + BigInt.asUintN(bits, n).toString(16);
    case 'char': return `'${String.fromCharCode(Number(n & 0xffn))}'`;
    case 'symbol': return sym.withOffset(n);
    default: return '0x' + n.toString(16);
  }
}

/** trace_probe_print_args: " name=value" per argument, arrays as {a,b,c}. */
export function formatArgs(values: readonly ArgValue[], sym: Symbolizer): string {
  let s = '';
  for (const { arg, value } of values) {
    s += ` ${arg.name}=`;
    s += Array.isArray(value) ? `{${value.map((v) => formatScalar(arg.type, v, sym)).join(',')}}` : formatScalar(arg.type, value, sym);
  }
  return s;
}

/** trace_entry flags and preempt count, as trace_print_lat_fmt reads them. */
export interface EntryFlags {
  irqsOff: boolean;
  /** Bottom halves disabled (TRACE_FLAG_BH_OFF). */
  bhOff?: boolean;
  needResched?: boolean;
  preemptResched?: boolean;
  hardirq?: boolean;
  softirq?: boolean;
  nmi?: boolean;
  /** Preemption depth (low nibble of preempt_count). */
  preemptCount?: number;
  /** migrate_disable depth (high nibble). */
  migrateDisable?: number;
}

/** Who and when: the ftrace context columns of one event. */
export interface TraceContext {
  comm: string;
  pid: number;
  cpu: number;
  /** Trace clock (local: nanoseconds). */
  tsNs: bigint;
  flags: EntryFlags;
}

/** trace_print_lat_fmt: five characters, e.g. "d.h1.". */
export function latencyFlags(f: EntryFlags): string {
  const irqs = f.irqsOff && f.bhOff ? 'D' : f.irqsOff ? 'd' : f.bhOff ? 'b' : '.';
  const nr = f.needResched && f.preemptResched ? 'N' : f.needResched ? 'n' : f.preemptResched ? 'p' : '.';
  const hs = f.nmi && f.hardirq ? 'Z' : f.nmi ? 'z' : f.hardirq && f.softirq ? 'H' : f.hardirq ? 'h' : f.softirq ? 's' : '.';
  const pc = (f.preemptCount ?? 0) & 0xf, md = (f.migrateDisable ?? 0) & 0xf;
  return irqs + nr + hs + (pc ? pc.toString(16) : '.') + (md ? md.toString(16) : '.');
}

/** trace_print_time with an ns clock: ns2usecs rounds to the nearest microsecond. */
export function traceTime(tsNs: bigint): string {
  const us = (tsNs + 500n) / 1000n;
  return ` ${String(us / 1_000_000n).padStart(5)}.${String(us % 1_000_000n).padStart(6, '0')}`;
}

/** trace_print_context: "           <comm>-<pid>     [cpu] flags  secs.usecs: ". */
export function traceContext(c: TraceContext): string {
  return `${c.comm.padStart(16)}-${String(c.pid).padEnd(7)} [${String(c.cpu).padStart(3, '0')}] ${latencyFlags(c.flags)}${traceTime(c.tsNs)}: `;
}

/** seq_print_ip_sym / trace_seq_print_sym: "0" for a NULL ip, the symbol, or "0x%08lx" when unnamed. */
function ipSym(ip: bigint, offset: boolean, sym: Symbolizer): string {
  if (ip === 0n) return '0';
  if (sym.isKretprobeTrampoline?.(ip)) return "[unknown/kretprobe'd]";
  const name = offset ? sym.withOffset(ip) : sym.noOffset(ip);
  return name ? name : '0x' + ip.toString(16).padStart(8, '0');
}

/**
 * What an event line shows in its parentheses (print_kprobe_event, print_kretprobe_event): the probed
 * ip, "vfs_read+0x0/0x90"; for a return probe (`func` given) the return address and the function,
 * "ksys_read+0x6e/0xf0 <- vfs_read".
 */
export function eventIpText(ip: bigint, func: bigint | undefined, sym: Symbolizer): string {
  return func === undefined ? ipSym(ip, true, sym) : `${ipSym(ip, true, sym)} <- ${ipSym(func, false, sym)}`;
}

/** A kprobe event line: "<ctx><event>: (vfs_read+0x0/0x90) arg1=0x3\n". */
export function formatKprobeLine(c: TraceContext, event: string, ip: bigint, args: readonly ArgValue[], sym: Symbolizer): string {
  return `${traceContext(c)}${event}: (${eventIpText(ip, undefined, sym)})${formatArgs(args, sym)}\n`;
}

/** A kretprobe event line: "<ctx><event>: (ksys_read+0x6e/0xf0 <- vfs_read) arg1=0x3\n". */
export function formatKretprobeLine(c: TraceContext, event: string, retIp: bigint, func: bigint, args: readonly ArgValue[], sym: Symbolizer): string {
  return `${traceContext(c)}${event}: (${eventIpText(retIp, func, sym)})${formatArgs(args, sym)}\n`;
}

/**
 * A stack trace entry (trace_output.c trace_stack_print): the context columns, "<stack trace>",
 * then " => SYMBOL" per frame (seq_print_ip_sym: "func" by default, "func+off/size" with the
 * sym-offset option).
 */
export function formatStackEntry(c: TraceContext, frames: readonly bigint[], sym: Symbolizer, symOffset: boolean): string {
  let s = `${traceContext(c)}<stack trace>\n`;
  for (const f of frames) s += ` => ${ipSym(f, symOffset, sym)}\n`;
  return s;
}

/** The trace file's header for the nop tracer with irq-info (the default options). */
export function traceHeader(entries: number, written: number, cpus: number, tracer = 'nop'): string {
  const p = '  ';
  return `# tracer: ${tracer}\n#\n`
    + `# entries-in-buffer/entries-written: ${entries}/${written}   #P:${cpus}\n#\n`
    + `#                            ${p}  _-----=> irqs-off/BH-disabled\n`
    + `#                            ${p} / _----=> need-resched\n`
    + `#                            ${p}| / _---=> hardirq/softirq\n`
    + `#                            ${p}|| / _--=> preempt-depth\n`
    + `#                            ${p}||| / _-=> migrate-disable\n`
    + `#                            ${p}|||| /     delay\n`
    + `#           TASK-PID  ${p} CPU#  |||||  TIMESTAMP  FUNCTION\n`
    + `#              | |    ${p}   |   |||||     |         |\n`;
}

/** The field type name in the format file: an array shows "u8[4]". */
function fieldType(a: ProbeArg): string {
  return a.count ? `${a.type.fmttype}[${a.count}]` : a.type.fmttype;
}

/** traceprobe_set_print_fmt (PROBE_PRINT_NORMAL / PROBE_PRINT_RETURN). */
export function printFmt(p: ProbeDef): string {
  let fmt = p.type === 'r' ? '"(%lx <- %lx)' : '"(%lx)';
  for (const a of p.args) {
    fmt += ` ${a.name}=`;
    fmt += a.count ? `{${Array(a.count).fill(a.type.fmt).join(',')}}` : a.type.fmt;
  }
  fmt += p.type === 'r' ? '", REC->__probe_func, REC->__probe_ret_ip' : '", REC->__probe_ip';
  for (const a of p.args) {
    const one = (j?: number) => {
      const n = j === undefined ? a.name : `${a.name}[${j}]`;
      return a.type.isString ? `, __get_str(${n})` : `, REC->${n}`;
    };
    fmt += a.count ? Array.from({ length: a.count }, (_, j) => one(j)).join('') : one();
  }
  return fmt;
}

/** events/<group>/<event>/format for a probe event with the given event id. */
export function eventFormat(p: ProbeDef, id: number): string {
  const field = (type: string, name: string, offset: number, size: number, signed: boolean) =>
    `\tfield:${type} ${name};\toffset:${offset};\tsize:${size};\tsigned:${signed ? 1 : 0};\n`;
  let s = `name: ${p.event}\nID: ${id}\nformat:\n`;
  s += field('unsigned short', 'common_type', 0, 2, false);
  s += field('unsigned char', 'common_flags', 2, 1, false);
  s += field('unsigned char', 'common_preempt_count', 3, 1, false);
  s += field('int', 'common_pid', 4, 4, true);
  s += '\n';
  let off = 8;
  if (p.type === 'r') {
    s += field('unsigned long', '__probe_func', off, 8, false); off += 8;
    s += field('unsigned long', '__probe_ret_ip', off, 8, false); off += 8;
  } else {
    s += field('unsigned long', '__probe_ip', off, 8, false); off += 8;
  }
  for (const a of p.args) {
    const size = a.type.size * (a.count || 1);
    s += field(fieldType(a), a.name, off, size, a.type.signed);
    off += size;
  }
  return `${s}\nprint fmt: ${printFmt(p)}\n`;
}
