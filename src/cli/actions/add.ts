// ktrace add (commands/add.ts): perf probe -a. Each definition compiled (through the DWARF when the
// image has it, as perf does; a raw kprobe_events line as written), all resolved before any is added,
// then written to the state's kprobe_events and enabled; --rebase moves the events onto a rebuilt image.
import type { GlobalArgs } from '../options.js';
import type { Image } from '../../elf/image.js';
import type { TraceSession } from '../../trace/runtime/session.js';
import { CliError, EXIT_USAGE } from '../errors.js';
import { addedMessage, probeLine } from '../../output/probes.js';
import { bootRefusal } from '../../kernel/linux/bundle.js';
import { out } from '../../output/write.js';
import { isRawKprobeLine } from '../../trace/perf-probe.js';
import { specCompiler } from '../../trace/perf-probe/spec-compiler.js';
import { buildInBackground } from '../debug-index.js';
import { loadImage } from '../load-image.js';
import type { AddResult } from '../../trace/runtime/probe-events.js';

// What adding needs beyond compiling a spec (the tracing layer's events, the state directory with its
// lock and store, the boot checks of the image): loaded when an event is added, not for -D, which
// prints the definitions only (these modules load node:zlib, Node's stream modules with it).
const probeEvents = () => import('../../trace/runtime/probe-events.js');
const stateModules = async () => ({ ...(await import('./state.js')), ...(await import('../state/dir.js')), ...(await import('../state/store.js')), ...(await import('../tracing.js')) });

export interface AddArgs extends GlobalArgs {
  spec?: string; args?: string[]; add?: string[]; definition: boolean; 'dry-run': boolean; force: boolean;
  quiet: boolean; verbose: boolean; inlines: boolean; 'max-probes'?: number; source?: string; rebase: boolean;
}

/** perf's debuginfo path for this spec: its kprobe_events lines, given which names are taken. */
type SpecLines = (taken: (group: string, event: string) => boolean, force: boolean) => string[];
type Added = import('../../trace/runtime/probe-events.js').ProbeListing;

/** perf splits an -a value into words as its shell would (argv_split): on blanks, quotes grouping. */
export function splitDefinition(text: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

export async function add(args: AddArgs): Promise<void> {
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
  const image = loadImage(args.vmlinux);
  const compiler = specCompiler(image, args.vmlinux, { background: buildInBackground });
  const specOpts = { noInlines: !args.inlines, maxProbes: max, source: args.source, ...(args.quiet ? {} : { warn: (w: string) => { process.stderr.write(w); } }) };
  // A raw kprobe_events line goes to the kernel as written (without loading the DWARF modules); a
  // perf spec goes through the debug info when the kernel has it, as perf does (specCompiler).
  const compileOf = (words: string[]) => (isRawKprobeLine(words.join(' ')) ? undefined : compiler);
  if (args.definition) {
    let text = '';
    for (const words of defs) {
      const compile = compileOf(words);
      if (compile) { text += compile(words, { taken: () => false, force: args.force, command: 'add', offline: true, ...specOpts })!.join('\n') + '\n'; continue; }
      const c = (await probeEvents()).compileSpec(words, () => false, args.force);
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
  if (!args.quiet) out(addedMessage(added, !args['dry-run'], bootRefusal(image) !== undefined));
}

/**
 * add --rebase: the state's events, defined on another build of the kernel, written again to the
 * kprobe_events of the -k image, as perf's events are stored (SYMBOL+OFFSET, the kernel checking the
 * instruction boundary): each that resolves keeps its name, enable flag, filter, triggers and
 * kprobe_profile counts; each that does not is reported with the kernel's reason and removed.
 */
async function rebase(args: AddArgs): Promise<void> {
  const { openState } = await stateModules(), { listing } = await probeEvents();
  const { image, t, update } = await openState(args, { canProbe: true });
  const r = update((s) => {
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
  }, true);
  const from = r.from ? `${r.from.path} (sha256 ${r.from.sha256.slice(0, 12)})` : 'no recorded image';
  if (!args.quiet) out(`Rebased ${r.kept.length} event${r.kept.length === 1 ? '' : 's'} from ${from} onto ${args.vmlinux}:\n${r.kept.map(probeLine).join('')}`);
  for (const l of r.lost) process.stderr.write(`ktrace: add: --rebase: ${l}: removed\n`);
  if (r.lost.length) process.exitCode = 1;
}

/** -v: the kprobe_events lines a change wrote, as perf -v says "Writing event: ...". */
function writtenLines(args: AddArgs, before: string, after: string): void {
  if (!args.verbose) return;
  const old = new Set(before.split('\n'));
  for (const l of after.split('\n')) if (l && !old.has(l)) process.stderr.write(`Writing event: ${l}\n`);
}

/** A spec without debug info (or a raw kprobe_events line): one line, under one state update. */
async function addPlain(args: AddArgs, image: Image, words: string[]): Promise<Added[]> {
  const { openState, needsBoundaryCheck } = await stateModules(), { addProbe, compileSpec } = await probeEvents();
  const pre = compileSpec(words, () => false, true);
  const { t, update } = await openState(args, { canProbe: pre.ok && needsBoundaryCheck(pre.line, image) }, image);
  const r = update((s) => {
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
function enableAdded(session: TraceSession, added: readonly { group: string; event: string }[]): void {
  for (const a of added) {
    const rc = session.events.setEnabled(a.group, a.event, true);
    if (rc) throw new CliError(`add: ${a.group}:${a.event}: added, but it cannot be enabled (${rc})`);
  }
}

/** Adds every line the DWARF compile gives, under one state update (all or nothing). */
async function addWithDwarf(args: AddArgs, image: Image, viaDwarf: SpecLines): Promise<Added[]> {
  const { openState, needsBoundaryCheck, stateDir, loadState } = await stateModules(), { addLines } = await probeEvents();
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
  const { t, update } = await openState(args, { canProbe: viaDwarf(() => false, true).some((l) => needsBoundaryCheck(l, image)) }, image);
  const r = update<AddResult>((s) => {
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
