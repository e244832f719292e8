// ktrace add SPEC [ARG...] (perf probe -a): define a probe event from a perf-probe spec or a raw
// kprobe_events line, persistently in the state directory. -D prints the kprobe_events line only;
// -n checks everything but saves nothing; -f resolves a name clash with a _N suffix.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { FastCommand } from '../fastargs.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import type { AddResult } from '../probe-events.js';

interface Args extends GlobalArgs {
  spec?: string; args?: string[]; add?: string[]; definition: boolean; 'dry-run': boolean; force: boolean;
  quiet: boolean; verbose: boolean; inlines: boolean; 'max-probes'?: number; source?: string; rebase: boolean;
}

const options = {
  add: { alias: 'a', type: 'string' as const, array: true, describe: "another probe definition, as perf probe -a (repeatable: -a 'vfs_read count' -a vfs_write)" },
  definition: { alias: 'D', type: 'boolean' as const, default: false, describe: 'print the kprobe_events line instead of adding it' },
  'dry-run': { alias: 'n', type: 'boolean' as const, default: false, describe: 'check and show everything, save nothing' },
  force: { alias: 'f', type: 'boolean' as const, default: false, describe: 'on a name clash, add NAME_1, NAME_2, ...' },
  quiet: { alias: 'q', type: 'boolean' as const, default: false, describe: 'print no messages or warnings (errors still)' },
  verbose: { alias: 'v', type: 'boolean' as const, default: false, describe: 'also print each kprobe_events line written (stderr: "Writing event: ...")' },
  inlines: { type: 'boolean' as const, default: true, describe: "--no-inlines: don't search inlined functions (nor the out-of-line copies of functions declared inline), as perf" },
  'max-probes': { type: 'number' as const, describe: 'how many addresses one definition may probe (perf\'s default: 128)' },
  source: { alias: 's', type: 'string' as const, describe: 'kernel source tree, for lazy patterns (FUNC;PTN), as perf probe -s' },
  rebase: { type: 'boolean' as const, default: false, describe: 'move the defined events onto this -k image (a rebuilt kernel), by symbol+offset as kprobe_events stores them; those that no longer resolve are reported and removed' },
};

/** perf's debuginfo path for this spec: its kprobe_events lines, given which names are taken. */
type SpecLines = (taken: (group: string, event: string) => boolean, force: boolean) => string[];
type Added = import('../../output/probes.js').ProbeListing;

/** perf splits an -a value into words as its shell would (argv_split): on blanks, quotes grouping. */
export function splitDefinition(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

async function handler(args: Args): Promise<void> {
  if (args.rebase) {
    if (args.spec !== undefined || args.add?.length) throw new CliError('add: --rebase takes no probe definition (it moves the defined events onto the -k image)', EXIT_USAGE);
    return rebase(args);
  }
  const defs: string[][] = [];
  // perf's order: the -a definitions, then the words after the options (parse_probe_event_argv).
  for (const a of args.add ?? []) defs.push(splitDefinition(String(a)));
  if (args.spec !== undefined) defs.push([args.spec, ...(args.args ?? [])].map(String));
  if (defs.length === 0 || defs.some((d) => d.length === 0)) throw new CliError("add: give a probe definition ([[GROUP:]EVENT=]FUNC[+OFFS|%return|:LINE|;PTN] [ARG...]), e.g. `ktrace add vfs_read`", EXIT_USAGE);
  const max = args['max-probes'];
  if (max !== undefined && (!Number.isSafeInteger(max) || max < 1)) throw new CliError('add: --max-probes must be a positive integer', EXIT_USAGE);
  const { out } = await import('../../output/write.js');
  const { loadImage } = await import('../load-image.js');
  const image = loadImage(args.vmlinux);
  const { isRawKprobeLine } = await import('../../trace/perf-probe.js');
  const compiler = (await import('../dwarf.js')).specCompiler(image, args.vmlinux);
  const specOpts = { noInlines: !args.inlines, maxProbes: max, source: args.source, quiet: args.quiet };
  // A raw kprobe_events line goes to the kernel as written (without loading the DWARF modules); a
  // perf spec goes through the debug info when the kernel has it, as perf does (specCompiler).
  const compileOf = (words: string[]) => (isRawKprobeLine(words.join(' ')) ? undefined : compiler);
  if (args.definition) {
    const { compileSpec } = await import('../probe-events.js');
    let text = '';
    for (const words of defs) {
      const compile = compileOf(words);
      if (compile) { text += compile(words, { taken: () => false, force: args.force, command: 'add', offline: true, ...specOpts })!.join('\n') + '\n'; continue; }
      const c = compileSpec(words, () => false, args.force);
      if (!c.ok) throw new CliError(`add: ${c.message.replace(/\n$/, '')}`);
      text += c.line + '\n';
    }
    out(text);
    return;
  }
  // Every definition is resolved before any is added (perf converts them all, then applies them).
  for (const words of defs) compileOf(words)?.(words, { taken: () => false, force: true, command: 'add', ...specOpts });
  const added: Added[] = [];
  for (const words of defs) {
    const compile = compileOf(words);
    const viaDwarf: SpecLines | undefined = compile && ((taken, force) => compile(words, { taken, force, command: 'add', ...specOpts })!);
    added.push(...(viaDwarf ? await addWithDwarf(args, image, viaDwarf) : await addPlain(args, image, words)));
  }
  const { addedMessage } = await import('../../output/probes.js');
  if (!args.quiet) out(addedMessage(added, !args['dry-run']));
}

/**
 * add --rebase: the state's events, defined on another build of the kernel, written again to the
 * kprobe_events of the -k image, as perf's events are stored (SYMBOL+OFFSET, the kernel checking the
 * instruction boundary): each that resolves keeps its name, enable flag, filter, triggers and
 * kprobe_profile counts; each that does not is reported with the kernel's reason and removed.
 */
async function rebase(args: Args): Promise<void> {
  const { loadImage } = await import('../load-image.js');
  const { stateDir } = await import('../state/dir.js');
  const { loadTracing } = await import('../tracing.js');
  const { updateState } = await import('../state/store.js');
  const { listing } = await import('../probe-events.js');
  const { probeLine } = await import('../../output/probes.js');
  const { out } = await import('../../output/write.js');
  const image = loadImage(args.vmlinux);
  const t = await loadTracing({ canProbe: true });
  const r = updateState(stateDir(args.state), args.vmlinux, (s) => {
    const lines = s.kprobeEvents.split('\n').filter(Boolean);
    const session = t.light(image, { ...s, kprobeEvents: '', enabled: [] });
    const ev = session.events;
    const lost: string[] = [];
    for (const line of lines) {
      const name = /^[pr][0-9]*:(\S+)/.exec(line)?.[1]?.replace('/', ':') ?? line;
      const place = line.split(/\s+/)[1] ?? '';
      if (/^(0x)?[0-9a-f]+$/i.test(place)) { lost.push(`${name}: defined by address (${place}): add it again by symbol`); continue; }
      const before = ev.errorLog.entries.length;
      const rc = ev.write(line + '\n');
      if (rc < 0) {
        const e = ev.errorLog.entries[ev.errorLog.entries.length - 1];
        lost.push(`${name}: ${ev.errorLog.entries.length > before && e ? e.message : `error ${rc}`} (${line})`);
      }
    }
    for (const k of s.enabled) {
      const i = k.indexOf('/');
      if (ev.events().some((e) => e.group === k.slice(0, i) && e.event === k.slice(i + 1))) ev.setEnabled(k.slice(0, i), k.slice(i + 1), true);
    }
    const kept = ev.probes.map((p) => listing(p));
    return { state: args['dry-run'] ? undefined : { ...s, ...session.snapshot() }, result: { kept, lost, from: s.vmlinux } };
  }, { force: true });
  const from = r.from ? `${r.from.path} (sha256 ${r.from.sha256.slice(0, 12)})` : 'no recorded image';
  if (!args.quiet) out(`Rebased ${r.kept.length} event${r.kept.length === 1 ? '' : 's'} from ${from} onto ${args.vmlinux}:\n${r.kept.map(probeLine).join('')}`);
  for (const l of r.lost) process.stderr.write(`ktrace: add: --rebase: ${l}: removed\n`);
  if (r.lost.length) process.exitCode = 1;
}

/** -v: the kprobe_events lines a change wrote, as perf -v says "Writing event: ...". */
function writtenLines(args: Args, before: string, after: string): void {
  if (!args.verbose) return;
  const old = new Set(before.split('\n'));
  for (const l of after.split('\n')) if (l && !old.has(l)) process.stderr.write(`Writing event: ${l}\n`);
}

/** A spec without debug info (or a raw kprobe_events line): one line, under one state update. */
async function addPlain(args: Args, image: import('../../elf/image.js').Image, words: string[]): Promise<Added[]> {
  const { compileSpec, addProbe } = await import('../probe-events.js');
  const { stateDir } = await import('../state/dir.js');
  const { updateState } = await import('../state/store.js');
  const { loadTracing, needsBoundaryCheck } = await import('../tracing.js');
  const pre = compileSpec(words, () => false, true);
  const t = await loadTracing({ canProbe: pre.ok && needsBoundaryCheck(pre.line, image) });
  const r = updateState(stateDir(args.state), args.vmlinux, (s) => {
    const session = t.light(image, s);
    const res = addProbe(session, words, args.force);
    if (res.ok) enableAdded(session, res.added);
    if (res.ok) writtenLines(args, s.kprobeEvents, session.snapshot().kprobeEvents);
    // A failed add still saves its error_log entry, as a failed write to kprobe_events would.
    return { state: args['dry-run'] ? undefined : { ...s, ...session.snapshot() }, result: res };
  });
  if (!r.ok) throw new CliError(`add: ${r.message.replace(/\n$/, '')}`);
  return r.added;
}

/** `ktrace add` enables what it creates (as the TUI's add does); raw kprobe_events writes stay disabled. */
function enableAdded(session: import('../../trace/runtime/session.js').TraceSession, added: readonly { group: string; event: string }[]): void {
  for (const a of added) {
    const rc = session.events.setEnabled(a.group, a.event, true);
    if (rc) throw new CliError(`add: ${a.group}:${a.event}: added, but it cannot be enabled (${rc})`);
  }
}

/** Adds every line the DWARF compile gives, under one state update (all or nothing). */
async function addWithDwarf(args: Args, image: import('../../elf/image.js').Image, viaDwarf: SpecLines): Promise<Added[]> {
  const { addLines } = await import('../probe-events.js');
  const { stateDir } = await import('../state/dir.js');
  const { loadState, updateState } = await import('../state/store.js');
  const { loadTracing, needsBoundaryCheck } = await import('../tracing.js');
  const dir = stateDir(args.state);
  // Compile outside the lock, naming events against the state as it is now (the stored lines are
  // the kernel's canonical ones: their names are the GROUP/EVENT after p: or r:), and remember
  // which names the compile asked about. Under the lock the same questions are asked of the state
  // then; only if an answer changed (another add or del meanwhile) is the spec compiled again there.
  // So the name check and the write are one locked read-check-modify-write (issue 14: concurrent
  // adds of one name give one event and "already exists" for the others), and the lock is held
  // only for the write in the common case.
  const named = new Set([...loadState(dir, args.vmlinux).kprobeEvents.matchAll(/^[pr][0-9]*:([^/\s]+\/\S+)/gm)].map((m) => m[1]!));
  const asked = new Map<string, boolean>();
  let lines = viaDwarf((g, e) => { const k = `${g}/${e}`, v = named.has(k); asked.set(k, v); return v; }, args.force);
  // iced-x86 (the instruction-boundary check) only for offsets into a function, as on the plain path.
  // This first compile also opens the DWARF and reports a bad spec before the lock is taken.
  const t = await loadTracing({ canProbe: viaDwarf(() => false, true).some((l) => needsBoundaryCheck(l, image)) });
  const r = updateState<AddResult>(dir, args.vmlinux, (s) => {
    const session = t.light(image, s);
    const ev = session.events;
    const taken = (g: string, e: string) => ev.events().some((x) => x.group === g && x.event === e);
    if ([...asked].some(([k, v]) => taken(k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)) !== v)) lines = viaDwarf(taken, args.force);
    const res = addLines(session, lines, args.force);
    if (res.ok) enableAdded(session, res.added);
    if (res.ok) writtenLines(args, s.kprobeEvents, session.snapshot().kprobeEvents);
    // All or nothing for the events; the kernel's error_log entry is kept, as on the plain path.
    if (args['dry-run']) return { state: undefined, result: res };
    return { state: res.ok ? { ...s, ...session.snapshot() } : { ...s, errorLog: session.snapshot().errorLog }, result: res };
  });
  if (!r.ok) throw new CliError(`add: ${r.message.replace(/\n$/, '')}`);
  return r.added;
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'add [spec] [args..]',
  aliases: ['-a'],
  describe: 'define a probe event (perf probe -a): [[GROUP:]EVENT=]FUNC[+OFFS|%return] [ARG...], or a kprobe_events line',
  builder: (y) => y
    .positional('spec', { type: 'string', describe: 'the probe point, or a whole kprobe_events line' })
    .positional('args', { type: 'string', array: true, describe: 'fetch args: %REG, @SYM, $argN, $stackN, $comm, $retval, +OFFS(ARG), NAME=ARG, ARG:TYPE' })
    .options(options)
    .example('$0 add vfs_read', 'probe:vfs_read at the function entry')
    .example("$0 add 'vfs_read buf=%si count=%dx:u64'", 'with named arguments')
    .example('$0 add myread=vfs_read+5 %di', 'an event name and an offset')
    .example("$0 add 'p:kprobes/my vfs_read'", 'a raw kprobe_events line')
    .example("$0 add -D 'vfs_read%return $retval'", 'show the kprobe_events line only')
    .example("$0 add -a 'vfs_read count' -a 'vfs_write count'", 'several definitions in one command, as perf probe -a -a')
    .example("$0 add --no-inlines -D 'tick_handle_periodic'", "perf's --no-inlines: not found, it is declared inline")
    .example("$0 add 'vfs_read count buf:string'", 'arguments by name, from the debug info')
    .example("$0 add 'vfs_read:10 file->f_pos'", 'a source line (see `ktrace line vfs_read`) and a member') as never,
  handler,
};
export default command;

/** add takes any number of argument words; the fast parser takes up to 16 (longer lines go through yargs). */
export const fast: FastCommand[] = Array.from({ length: 17 }, (_, n) => ({
  command: 'add' + (n ? ' <spec>' : '') + Array.from({ length: Math.max(0, n - 1) }, (_, i) => ` <a${i}>`).join(''),
  options,
  endOfOptions: true,
  handler: (a: Record<string, unknown>) => handler({ ...(a as unknown as Args), args: Array.from({ length: Math.max(0, n - 1) }, (_, i) => String(a[`a${i}`])) }),
}));
