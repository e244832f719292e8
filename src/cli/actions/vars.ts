// ktrace vars (commands/vars.ts): perf probe -V's variables at each address a probe point resolves to.
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import { out } from '../../output/write.js';
import { parseProbeSpec, availableVars, formatAvailableVars, resolvePoint, siteVars, perfTypeName, formatProbePoint } from '../../trace/perf-probe/index.js';
import { elfSymbolLookup, mapSymbolLookup } from '../../trace/perf-probe/funcs.js';
import { hex0x } from '../../base/addr.js';
import { openDwarf, withDwarf, sourceReader, symbolLookup } from '../../debuginfo/open.js';
import { buildInBackground } from '../debug-index.js';
import { loadImage } from '../load-image.js';

export interface VarsArgs extends GlobalArgs { spec: string; externs: boolean; json: boolean; source?: string; inlines: boolean; 'max-probes'?: number }

export async function vars(args: VarsArgs): Promise<void> {
  const max = args['max-probes'];
  if (max !== undefined && (!Number.isSafeInteger(max) || max < 1)) throw new CliError('vars: --max-probes must be a positive integer', EXIT_USAGE);
  const parsed = parseProbeSpec([args.spec]);
  if (!parsed.ok) throw new CliError(`vars: ${parsed.reason}`, EXIT_USAGE);
  if (parsed.value.args.length) throw new CliError('vars: give a probe point only (FUNC, FUNC+OFFS, FUNC:RLN, FILE:LINE)', EXIT_USAGE);
  const image = loadImage(args.vmlinux);
  const info = openDwarf(image, args.vmlinux, { ...(args.source !== undefined ? { source: args.source } : {}), background: buildInBackground });
  const readSource = sourceReader(info);
  // -V needs the debug info (no plain symbol fallback); the symbol table serves perf's alternative point only.
  const pointOpts = { readSource, noInlines: !args.inlines, maxProbes: max, symbol: symbolLookup(image), elfSymbol: elfSymbolLookup(image), mapSymbol: mapSymbolLookup(image), needsDwarf: true, alternative: true };
  if (args.json) {
    const text = withDwarf(args.vmlinux, () => {
      const pts = resolvePoint(info.dwarf, parsed.value.point, pointOpts);
      if (!pts.ok) throw new CliError(`vars: ${pts.reason}`);
      return JSON.stringify({
        point: formatProbePoint(parsed.value.point),
        sites: pts.value.map((p) => ({
          symbol: p.listedAt?.symbol ?? p.symbol, offset: p.listedAt?.offset ?? p.symbolOffset, address: hex0x(p.address),
          // The same variables as the text form (perf -V), with where each is fetched from.
          vars: siteVars(info.dwarf, p, args.externs).map((v) => ({
            name: v.variable.name, type: perfTypeName(info.dwarf, v.variable.type), kind: v.variable.kind, location: v.location,
          })),
        })),
      });
    });
    out(text + '\n');
    return;
  }
  const av = withDwarf(args.vmlinux, () => availableVars(info.dwarf, parsed.value.point, { ...pointOpts, externs: args.externs }));
  if (!av.ok) throw new CliError(`vars: ${av.reason}`);
  out(formatAvailableVars(av.value));
}
