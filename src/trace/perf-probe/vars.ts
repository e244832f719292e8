// perf probe -V: the variables a probe can fetch at each address a probe point resolves to
// (tools/perf/util/probe-event.c show_available_vars: "Available variables at POINT", "\t@<SYM+OFF>",
// then "\t\tTYPE\tNAME" lines from a sorted string list, so sorted by the type's spelling and without
// duplicates; types spelled as dwarf-aux.c die_get_typename does).
import type { Dwarf } from '../../dwarf/index.js';
import { fetchableVars, scopeVars, type FetchableVar } from './compile.js';
import { perfTypeName } from './typename.js';
import { resolvePoint, type PointOptions, type ResolvedPoint } from './point.js';
import { formatProbePoint, type Parsed, type ProbePoint } from './spec.js';

export interface AvailableVars {
  readonly point: string;
  readonly sites: readonly { readonly symbol: string; readonly offset: number; readonly vars: readonly string[] }[];
}

/**
 * The variables perf -V lists at one probe address (add_available_vars): those of the probe's scope
 * (scopeVars), then with `externs` the unit's global variables.
 */
export function siteVars(d: Dwarf, p: ResolvedPoint, externs: boolean): FetchableVar[] {
  const vars: FetchableVar[] = scopeVars(d, p, true);
  if (externs) for (const v of fetchableVars(d, p, { externs: true })) if (v.variable.kind === 'global') vars.push(v);
  return vars;
}

/**
 * perf -V at every address `pp` resolves to. The point options apply as for -a (perf's probe_conf is
 * shared): `noInlines` skips functions declared inline, and more sites than `maxProbes` is perf's
 * "Too many( > N) probe point found." (add_available_vars stops at max_vls).
 */
export function availableVars(d: Dwarf, pp: ProbePoint, opts: PointOptions & { externs?: boolean } = {}): Parsed<AvailableVars> {
  const pts = resolvePoint(d, pp, { ...opts, needsDwarf: true, alternative: true }); // -V always needs the debug info
  if (!pts.ok) return pts;
  const sites = pts.value.map((p) => {
    const set = new Set<string>();
    for (const v of siteVars(d, p, opts.externs ?? false)) set.add(`${perfTypeName(d, v.variable.type)}\t${v.variable.name}`);
    return { symbol: p.listedAt?.symbol ?? p.symbol, offset: p.listedAt?.offset ?? p.symbolOffset, vars: [...set].sort() };
  });
  return { ok: true, value: { point: formatProbePoint(pp), sites } };
}

export function formatAvailableVars(av: AvailableVars): string {
  let s = `Available variables at ${av.point}\n`;
  for (const site of av.sites) {
    s += `\t@<${site.symbol}+${site.offset}>\n`;
    if (site.vars.length === 0) s += '\t\t(No matched variables)\n';
    for (const v of site.vars) s += `\t\t${v}\n`;
  }
  return s;
}
