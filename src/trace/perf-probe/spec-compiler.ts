// perf probe's debuginfo path for `add`, `run -a` and the TUI's add prompt: a perf spec compiled through
// the image's DWARF (compile.ts) into kprobe_events lines, with perf's handling of blacklisted inlined
// copies on a running kernel (a warning through the caller's `warn`); a raw kprobe_events line goes to the
// kernel as written.
import type { Image } from '../../elf/image.js';
import { DebugInfoError, hasDebugInfo, openDwarf, sourceReader, symbolLookup, withDwarf, type DebugInfo, type OpenOptions } from '../../debuginfo/open.js';
import { compilePerfProbe } from './compile.js';
import { isRawKprobeLine } from '../perf-probe.js';
import { elfSymbolLookup, functionSymbolsLookup, mapSymbolLookup } from './funcs.js';
import { visibleMessage } from '../../visible.js';

/**
 * perf probe's debuginfo path, which perf takes whenever the kernel has DWARF: a perf-probe spec
 * compiled into one kprobe_events line per probe address (an inlined function gets one per inlined
 * copy, all under one event name), as `perf probe -D` shows them. A failure is a one-line DebugInfoError
 * ("already exists" with the hint to delete or force).
 */
export function perfSpecLines(info: DebugInfo, image: Image, vmlinuxPath: string, words: readonly string[],
  opts: SpecOptions): string[] {
  const r = withDwarf(vmlinuxPath, () => compilePerfProbe(info.dwarf, words, { readSource: sourceReader(opts.source !== undefined ? { ...info, sourcePrefix: opts.source } : info), taken: opts.taken, force: opts.force, symbol: symbolLookup(image), elfSymbol: elfSymbolLookup(image), mapSymbol: mapSymbolLookup(image), functionSymbols: functionSymbolsLookup(image), noInlines: opts.noInlines, maxProbes: opts.maxProbes }));
  if (!r.ok) {
    const m = /^event "(.*)" already exists\.$/.exec(r.reason);
    throw new DebugInfoError(`${opts.command}: ${visibleMessage(r.reason)}${m ? `\n  Hint: remove it with \`ktrace del ${m[1]}\`, or add a duplicate with -f (force).` : ''}`);
  }
  if (opts.offline || r.value.length < 2) return r.value.map((e) => e.line);
  // perf on the running kernel (post_process_probe_trace_events → kprobe_warn_out_range) skips the
  // addresses on the kprobe blacklist with a warning and probes the rest: an inlined copy inside a
  // NOKPROBE function. (All of them blacklisted: the kernel's refusal is left to say so.)
  const kept = r.value.filter((e) => !image.inKprobeBlacklist(e.point.address));
  if (kept.length === 0) return r.value.map((e) => e.line);
  for (const e of r.value) {
    const w = `${e.point.symbol} is blacklisted function, skip it.\n`;
    if (!kept.includes(e) && !warned.has(w)) { warned.add(w); opts.warn?.(w); }
  }
  return kept.map((e) => e.line);
}

/** Warnings already given by this process (a spec is compiled more than once per command). */
const warned = new Set<string>();

export interface SpecOptions {
  taken: (group: string, event: string) => boolean;
  force: boolean;
  command: string;
  /** As perf -k with an offline vmlinux (add -D): no blacklist check, every address is listed. */
  offline?: boolean;
  /** perf --no-inlines, --max-probes N, -s DIR (where lazy patterns' sources are read). */
  noInlines?: boolean;
  maxProbes?: number;
  source?: string;
  /** Where perf's warnings go (the blacklisted-copy one: each once per process); none without it (perf -q). */
  warn?: (text: string) => void;
}

/** The kprobe_events lines of a perf spec, given which event names are taken (perfSpecLines' options). */
export type SpecCompiler = (words: readonly string[], opts: SpecOptions) => string[] | undefined;

/**
 * How `add`, `run -a` and the TUI's add prompt take a spec, as perf does: a raw kprobe_events line goes
 * to the kernel as written (undefined here), a perf spec through the debug info (perfSpecLines).
 * Undefined when the kernel has no debug info; its DWARF is opened at the first spec that needs it.
 */
export function specCompiler(image: Image, vmlinuxPath: string, open: OpenOptions = {}): SpecCompiler | undefined {
  if (!hasDebugInfo(image)) return undefined;
  let info: DebugInfo | undefined;
  return (words, opts) => (isRawKprobeLine(words.join(' ')) ? undefined : perfSpecLines(info ??= openDwarf(image, vmlinuxPath, open), image, vmlinuxPath, words, opts));
}
