// tracefs error_log (kernel/trace/trace.c tracing_log_err, tracing_err_log_seq_show,
// tracing_err_log_show_pos): the last TRACING_LOG_ERRS_MAX errors, each as
//   [%5llu.%06u] LOC: error: MESSAGE\n  Command: CMD\n<11 spaces><pos spaces>^\n
// with the timestamp in seconds.microseconds of the (emulated) local clock.
import type { ProbeError } from './errors.js';

export const TRACING_LOG_ERRS_MAX = 8;
const CMD_PREFIX = '  Command: ';

export interface LoggedError extends ProbeError {
  /** local_clock() at the time, nanoseconds. */
  tsNs: bigint;
}

/** One entry's text. */
export function formatErrorLogEntry(e: LoggedError): string {
  const sec = e.tsNs / 1_000_000_000n;
  const usec = (e.tsNs % 1_000_000_000n) / 1000n;
  return `[${String(sec).padStart(5)}.${String(usec).padStart(6, '0')}] ${e.subsystem}: error: ${e.message}`
    + `\n${CMD_PREFIX}${e.command}\n` + ' '.repeat(CMD_PREFIX.length + e.pos) + '^\n';
}

/** The bounded log: adding a ninth entry drops the oldest. */
export class ErrorLog {
  private readonly items: LoggedError[] = [];

  constructor(entries: readonly LoggedError[] = []) {
    for (const e of entries) this.add(e, e.tsNs);
  }

  add(err: ProbeError, tsNs: bigint): void {
    if (this.items.length >= TRACING_LOG_ERRS_MAX) this.items.shift();
    this.items.push({ ...err, tsNs });
  }

  /** Opening error_log for writing with O_TRUNC clears it (tracing_err_log_open). */
  clear(): void {
    this.items.length = 0;
  }

  get entries(): readonly LoggedError[] {
    return this.items;
  }

  text(): string {
    return this.items.map(formatErrorLogEntry).join('');
  }
}
