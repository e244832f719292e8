// ktrace vars SPEC [--externs] [--no-inlines] [--max-probes N] (perf probe -V): the variables a probe can fetch at each address the
// probe point resolves to, with perf's type spelling (src/trace/perf-probe/vars.ts).
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { FastCommand } from '../fastargs.js';
import { CliError, EXIT_USAGE } from '../errors.js';

interface Args extends GlobalArgs { spec: string; externs: boolean; json: boolean; source?: string; inlines: boolean; 'max-probes'?: number }

const options = {
  externs: { type: 'boolean' as const, default: false, describe: 'also list the global variables of the compile unit' },
  source: { alias: 's', type: 'string' as const, describe: 'source tree for lazy patterns (;PTN), as perf probe -s' },
  // perf applies both to -V as to -a (probe_conf: probe_point_search_cb, and add_available_vars's
  // "Too many( > N) probe point found." once the sites exceed max_probes).
  inlines: { type: 'boolean' as const, default: true, describe: "--no-inlines: don't search inlined functions (nor the out-of-line copies of functions declared inline), as perf" },
  'max-probes': { type: 'number' as const, describe: 'how many addresses the point may resolve to (perf\'s default: 128)' },
  json: { type: 'boolean' as const, default: false, describe: 'print JSON: {point, sites: [{symbol, offset, address, vars: [{name, type, kind, location}]}]}' },
};

async function handler(args: Args): Promise<void> {
  const { loadImage } = await import('../load-image.js');
  const { openDwarf, withDwarf, sourceReader } = await import('../dwarf.js');
  const { parseProbeSpec, availableVars, formatAvailableVars } = await import('../../trace/perf-probe/index.js');
  const { out } = await import('../../output/write.js');
  const max = args['max-probes'];
  if (max !== undefined && (!Number.isSafeInteger(max) || max < 1)) throw new CliError('vars: --max-probes must be a positive integer', EXIT_USAGE);
  const parsed = parseProbeSpec([args.spec]);
  if (!parsed.ok) throw new CliError(`vars: ${parsed.reason}`, EXIT_USAGE);
  if (parsed.value.args.length) throw new CliError('vars: give a probe point only (FUNC, FUNC+OFFS, FUNC:RLN, FILE:LINE)', EXIT_USAGE);
  const image = loadImage(args.vmlinux);
  const info = openDwarf(image, args.vmlinux, args.source !== undefined ? { source: args.source } : {});
  const readSource = sourceReader(info);
  const pointOpts = { readSource, noInlines: !args.inlines, maxProbes: max };
  if (args.json) {
    const { resolvePoint, siteVars, perfTypeName, formatProbePoint } = await import('../../trace/perf-probe/index.js');
    const { hex0x } = await import('../../base/addr.js');
    const text = withDwarf(args.vmlinux, () => {
      const pts = resolvePoint(info.dwarf, parsed.value.point, pointOpts);
      if (!pts.ok) throw new CliError(`vars: ${pts.reason}`);
      return JSON.stringify({
        point: formatProbePoint(parsed.value.point),
        sites: pts.value.map((p) => ({
          symbol: p.symbol, offset: p.symbolOffset, address: hex0x(p.address),
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

const command: CommandModule<GlobalArgs, Args> = {
  command: 'vars <spec>',
  describe: 'list the variables available at a probe point (perf probe -V)',
  builder: (y) => y.positional('spec', { type: 'string', demandOption: true, describe: 'FUNC[@FILE][+OFFS|:RLN|;PTN] or FILE:LINE' })
    .options(options)
    .example('$0 vars vfs_read', "vfs_read's parameters at its entry")
    .example('$0 vars vfs_read:10', 'at line 10 of the function')
    .example('$0 vars read_write.c:30 --externs', 'at a source line, with globals')
    .example('$0 vars sock_put --no-inlines', "perf's --no-inlines: not found, sock_put is declared inline")
    .example('$0 vars vfs_read --json', 'with each variable\'s fetch location (%di, +8(%sp), @sym+off)'),
  handler,
};
export default command;
export const fast: FastCommand[] = [{ command: 'vars <spec>', options, handler }];
