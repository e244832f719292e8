// ktrace line (commands/line.ts): perf probe -L's listing of a function or file range.
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import type { DebugInfo } from '../../debuginfo/open.js';
import { lineRangeText } from '../../trace/perf-probe/line-range.js';
import { out } from '../../output/write.js';
import { openDwarf, withDwarf, readSourceLines, displayPath, sourcePath } from '../../debuginfo/open.js';
import { mapSymbolLookup } from '../../trace/perf-probe/funcs.js';
import { buildInBackground } from '../debug-index.js';
import { loadImage } from '../load-image.js';

export interface LineArgs extends GlobalArgs { range: string; source?: string }

/** `ktrace line RANGE` as text, or a CliError (a DebugInfoError from the debug info). */
function showLineRange(info: DebugInfo, text: string, readSource: (p: string) => string[], display: (p: string) => string,
  symbol: (name: string) => number | undefined): string {
  const r = lineRangeText(info.dwarf, text, readSource, display, symbol);
  if (!r.ok) throw new CliError(`line: ${r.reason}`, r.usage ? EXIT_USAGE : undefined);
  return r.text;
}

export async function line(args: LineArgs): Promise<void> {
  const image = loadImage(args.vmlinux);
  const info = openDwarf(image, args.vmlinux, { ...(args.source !== undefined ? { source: args.source } : {}), background: buildInBackground });
  // Under -s, perf names the file it found (util/probe-event.c show_line_range prints lr->path).
  const display = args.source !== undefined ? (p: string) => sourcePath(info, p) : displayPath;
  out(withDwarf(args.vmlinux, () => showLineRange(info, args.range, (p) => readSourceLines(info, p), display, mapSymbolLookup(image))));
}
