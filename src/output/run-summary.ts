// `ktrace run`'s report on a terminal (or with --summary): system calls, console, expectations,
// how the run ended, instruction counts and time. Pure: a RunResult in, text out. Host timings
// are on the last line only, so everything above it is byte-identical for the same inputs.
import type { RunResult } from '../kernel/session.js';
import { formatResult } from '../kernel/workload/syscalls.js';

export interface SummaryOptions {
  /** Print the console output (default true). */
  console?: boolean;
  /** Print host time and MIPS (default true). */
  timing?: boolean;
  /** Disassembly of the faulting instruction, when the caller has it. */
  faultInsn?: string;
}

/** 1234567 -> "1,234,567" (toLocaleString would load ICU data: slow to start). */
export function group(n: number): string {
  const s = String(Math.abs(Math.trunc(n)));
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (i > 0 && (s.length - i) % 3 === 0) out += ',';
    out += s[i];
  }
  return (n < 0 ? '-' : '') + out;
}

export function formatResults(results: Record<string, number>, max = 6): string {
  const entries = Object.entries(results).map(([v, n]) => [Number(v), n] as const);
  entries.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  const shown = entries.slice(0, max).map(([v, n]) => (n === 1 ? formatResult(v) : `${formatResult(v)} x${n}`));
  if (entries.length > max) shown.push(`... ${entries.length - max} more values`);
  return shown.join(', ');
}

export function endText(r: RunResult): string {
  const e = r.end;
  switch (e.kind) {
    case 'poweroff': return `power off, status ${e.status}`;
    case 'panic': {
      const m = panicMessage(r.console);
      return m === undefined ? `kernel panic (reason ${e.reason})` : `kernel panic: ${m}`;
    }
    case 'budget': return `instruction budget exhausted (--max-insns ${group(r.instructions)}: ${progress(r, false)})`;
    case 'interrupted': return 'interrupted';
    case 'stalled': return `stalled: no task made a system call for ${e.seconds} s of emulated time (are all tasks blocked?)`;
    case 'fatal': return `machine stopped on cpu ${e.cpu}: ${e.message}`;
    default: {
      // A limit the CLI sets on top of the platform's ends (run --duration).
      const d = e as unknown as { kind: string; limitNs?: number };
      if (d.kind === 'duration') return `duration limit reached (--duration ${durationText(d.limitNs!)}: ${progress(r)})`;
      return d.kind;
    }
  }
}

/** How far a run got: emulated time, instructions, system calls. */
function progress(r: RunResult, instructions = true): string {
  const calls = Object.values(r.syscalls).reduce((n, s) => n + s.count, 0);
  return `${(r.emulatedNs / 1e6).toFixed(3)} ms of emulated time, ${instructions ? `${group(r.instructions)} instructions, ` : ''}${group(calls)} system calls`;
}

function durationText(ns: number): string {
  return ns % 1e9 === 0 ? `${ns / 1e9}s` : ns % 1e6 === 0 ? `${ns / 1e6}ms` : ns % 1e3 === 0 ? `${ns / 1e3}us` : `${ns}ns`;
}

/** The message the kernel's panic() printed on the console ("Kernel panic - not syncing: MSG"). */
export function panicMessage(console: string): string | undefined {
  let msg: string | undefined;
  const re = /^(?:\[[ \d.]+\] )?Kernel panic - not syncing: (.*)$/gm;
  for (let m = re.exec(console); m; m = re.exec(console)) msg = m[1];
  return msg?.trim() || undefined;
}

/**
 * Why a run failed, in one line for stderr (`ktrace: run: ...`), whatever else was printed where:
 * undefined for a clean run (power off, status 0, every expectation held).
 */
export function failureLine(r: RunResult): string | undefined {
  if (r.exitCode === 0) return undefined;
  const n = r.failures.length;
  const f = r.failures[0];
  const failed = f && `${n} expectation${n === 1 ? '' : 's'} failed (first: ${f.file}:${f.line}:${f.col}: task ${f.task}: expect ${f.message.replace(/^expect /, '')})`;
  const e = r.end;
  if (e.kind === 'poweroff' && e.status === 0 && failed) return failed;
  return failed ? `${endText(r)}; ${failed}` : endText(r);
}

export function renderRunSummary(r: RunResult, opts: SummaryOptions = {}): string {
  const lines: string[] = [];
  lines.push(`workload ${r.workload} on ${r.cpus} CPU${r.cpus === 1 ? '' : 's'}, seed ${r.seed}`);
  lines.push('');
  const names = Object.keys(r.syscalls);
  if (names.length) {
    const w = Math.max(7, ...names.map((n) => n.length));
    const cw = Math.max(5, ...names.map((n) => group(r.syscalls[n].count).length));
    lines.push(`${'SYSCALL'.padEnd(w)}  ${'CALLS'.padStart(cw)}  RESULTS`);
    for (const n of names) {
      const s = r.syscalls[n];
      lines.push(`${n.padEnd(w)}  ${group(s.count).padStart(cw)}  ${formatResults(s.results)}`.trimEnd());
    }
  } else {
    lines.push('no system calls completed');
  }
  if (opts.console !== false && r.console) {
    lines.push('', 'console:');
    for (const l of r.console.replace(/\n$/, '').split('\n')) lines.push('  ' + l);
  }
  if (r.oops) {
    const o = r.oops;
    const where = o.vector >= 0
      ? `oops on cpu ${o.cpu}: vector ${o.vector}, error code 0x${o.errorCode.toString(16)}${o.vector === 14 ? `, address 0x${BigInt.asUintN(64, BigInt(o.address)).toString(16)}` : ''}`
      : 'oops';
    lines.push('', `${where}: RIP ${o.backtrace[0]?.text ?? ''}`);
    const insn = opts.faultInsn ?? r.faultInsn;
    if (insn) lines.push(`  ${insn}`);
    const regs = Object.entries(o.regs).map(([k, v]) => `${k.toUpperCase().padStart(3)}: ${v.toString(16).padStart(16, '0')}`);
    for (let i = 0; i < regs.length; i += 3) lines.push('  ' + regs.slice(i, i + 3).join(' '));
    lines.push(`  RFLAGS: ${o.rflags.toString(16).padStart(8, '0')}`);
    lines.push('  Call Trace:');
    for (const f of o.backtrace) lines.push(`   ${f.text}`);
  }
  const held = r.failures.length;
  if (held) {
    lines.push('', `${held} expectation${held === 1 ? '' : 's'} failed:`);
    for (const f of r.failures) lines.push(`  ${f.file}:${f.line}:${f.col}: task ${f.task}: expect ${f.message.replace(/^expect /, '')}`);
  }
  lines.push('');
  lines.push(`ended: ${endText(r)}`);
  lines.push(`instructions: ${group(r.instructions)} (probe overhead: ${group(r.probeInstructions)})`);
  lines.push(`emulated time: ${(r.emulatedNs / 1e6).toFixed(6)} ms`);
  if (opts.timing !== false) lines.push(`host time: ${r.hostSeconds.toFixed(3)} s, ${r.mips.toFixed(1)} MIPS`);
  return lines.join('\n') + '\n';
}

/**
 * The JSON form: one object, host timings included unless `timing` is false (they are the only
 * non-deterministic fields: without them the same run gives byte-identical JSON).
 */
export function runResultJson(r: RunResult, opts: { timing?: boolean; console?: boolean } = {}): string {
  const host = opts.timing === false ? {} : { hostSeconds: r.hostSeconds, mips: r.mips };
  return JSON.stringify({
    workload: r.workload, cpus: r.cpus, seed: r.seed, exitCode: r.exitCode, end: r.end,
    instructions: r.instructions, probeInstructions: r.probeInstructions, emulatedNs: r.emulatedNs,
    ...host, syscalls: r.syscalls, ...(opts.console === false ? {} : { console: r.console }), failures: r.failures, faultInsn: r.faultInsn,
    oops: r.oops && { ...r.oops, regs: Object.fromEntries(Object.entries(r.oops.regs).map(([k, v]) => [k, '0x' + v.toString(16)])) },
  });
}

/**
 * runResultJson's object read back (a saved run, `ktrace report`): what renderRunSummary needs, and
 * whether the record had host timings and the console (--no-timing, --no-console leave them out).
 * Throws an Error naming the first field that is missing or of the wrong type.
 */
export function runResultFromJson(o: Record<string, unknown>): { result: RunResult; timing: boolean; console: boolean } {
  const need = (f: string, ok: (v: unknown) => boolean, what: string) => {
    if (!ok(o[f])) throw new Error(`summary field '${f}' is ${o[f] === undefined ? 'missing' : 'not ' + what}`);
    return o[f];
  };
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  const obj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  const end = need('end', (v) => obj(v) && typeof (v as { kind?: unknown }).kind === 'string', 'an object with a kind') as RunResult['end'];
  const oops = o.oops === undefined || o.oops === null ? undefined : need('oops', obj, 'an object') as Record<string, unknown>;
  const timing = num(o.hostSeconds) && num(o.mips);
  const result: RunResult = {
    workload: need('workload', (v) => typeof v === 'string', 'a string') as string,
    cpus: need('cpus', num, 'a number') as number,
    seed: need('seed', num, 'a number') as number,
    exitCode: need('exitCode', num, 'a number') as number,
    end,
    instructions: need('instructions', num, 'a number') as number,
    probeInstructions: need('probeInstructions', num, 'a number') as number,
    emulatedNs: need('emulatedNs', num, 'a number') as number,
    hostSeconds: timing ? o.hostSeconds as number : 0,
    mips: timing ? o.mips as number : 0,
    syscalls: need('syscalls', obj, 'an object') as RunResult['syscalls'],
    console: typeof o.console === 'string' ? o.console : '',
    failures: need('failures', Array.isArray, 'an array') as RunResult['failures'],
    ...(typeof o.faultInsn === 'string' ? { faultInsn: o.faultInsn } : {}),
    ...(oops ? { oops: { ...oops, regs: Object.fromEntries(Object.entries(oops.regs as Record<string, string>).map(([k, v]) => [k, BigInt(v)])) } as unknown as RunResult['oops'] } : {}),
  };
  return { result, timing, console: typeof o.console === 'string' };
}
