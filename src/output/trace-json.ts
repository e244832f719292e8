// One trace event as a JSON object (the NDJSON lines of `ktrace run --json`): the ftrace fields
// typed — timestamp in seconds as the trace text prints it, ip symbolized, each argument as its
// trace text plus, for numbers, the value (a JSON number when exact, else a decimal string).
// Rendered from the typed event, as the trace line is (never parsed back out of the line's text).
// JSON strings hold Unicode, not bytes: a string argument or comm whose bytes are not UTF-8 is
// carried as text with U+FFFD for each such byte, and its exact bytes in base64 beside it
// (`rawArgs.NAME`, an array's elements null where plain; `rawComm`).
import type { TraceEvent } from '../trace/runtime/probes.js';
import { eventIpText, formatScalar, traceTime, type Symbolizer } from '../trace/kprobe-events/format.js';
import { returnValue } from './trace-report.js';
import { rawBase64, wellFormed } from '../base/text.js';

const NO_SYMBOLS = { withOffset: (a: bigint) => '0x' + a.toString(16), noOffset: () => undefined };

function num(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** `sym`: the image's symbols (the ip as the trace line shows it); `stack`: the event's kernel stack, symbolized (run -g). */
export function traceEventJson(e: TraceEvent, sym: Symbolizer, stack?: readonly string[]): string {
  const args: Record<string, unknown> = {};
  let raw: Record<string, unknown> | undefined;
  for (const a of e.args) {
    const t = a.arg.type;
    const one = (v: import('../trace/kprobe-events/eval.js').ScalarValue) => {
      if (v.kind === 'str') return wellFormed(v.text);
      if (v.kind === 'fault' || (v.kind === 'num' && v.fault)) return null;
      const bits = t.size * 8;
      return t.name === 'symbol' || t.name.startsWith('x') ? formatScalar(t, v, NO_SYMBOLS)
        : num(t.signed ? BigInt.asIntN(bits, v.value) : BigInt.asUintN(bits, v.value));
    };
    args[a.arg.name] = Array.isArray(a.value) ? a.value.map(one) : one(a.value);
    const bytes = (v: import('../trace/kprobe-events/eval.js').ScalarValue) => (v.kind === 'str' ? rawBase64(v.text) : undefined);
    const r = Array.isArray(a.value) ? a.value.map(bytes) : bytes(a.value);
    if (Array.isArray(r) ? r.some((x) => x !== undefined) : r !== undefined) (raw ??= {})[a.arg.name] = Array.isArray(r) ? r.map((x) => x ?? null) : r;
  }
  const rawComm = rawBase64(e.comm);
  return JSON.stringify({
    type: 'event', event: `${e.probe.group}:${e.probe.event}`, cpu: e.cpu, ts: traceTime(e.tsNs).trim(),
    comm: wellFormed(e.comm), ...(rawComm !== undefined ? { rawComm } : {}), pid: e.pid, ip: eventIpText(e.ip, e.func, sym),
    ...(e.retval !== undefined ? { retval: num(returnValue(e.retval)) } : {}), args, ...(raw ? { rawArgs: raw } : {}),
    ...(stack ? { stack } : {}),
  });
}
