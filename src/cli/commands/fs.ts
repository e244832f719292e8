// ktrace fs cat|write|ls PATH: the kernel-visible files (/proc/kallsyms, tracefs under
// /sys/kernel/tracing, the kprobes debugfs files), read and written through the virtual file tree.
// Tracefs contents persist in the state directory between processes; relative paths resolve
// against /sys/kernel/tracing, as if the shell's cwd were the tracefs mount.
import type { Argv, CommandModule } from 'yargs';
import { posix } from 'node:path';
import type { GlobalArgs } from '../options.js';
import type { Vfs, Result } from '../../trace/vfs.js';
import { CliError } from '../errors.js';
import type { FastCommand } from '../fastargs.js';

interface PathArgs extends GlobalArgs { path: string }
interface WriteArgs extends PathArgs { text: string; truncate: boolean }

const TRACEFS = '/sys/kernel/tracing';
/** symbol-index.ts STATIC_FILES' paths (kept here so that other paths do not load it). */
const STATIC = new Set(['/proc/kallsyms', '/sys/kernel/debug/kprobes/blacklist']);
const KPROBES_DEBUGFS = '/sys/kernel/debug/kprobes';
const KPROBES_OPTIMIZATION_DIR = '/proc/sys/debug';

export function resolvePath(p: string): string {
  return posix.resolve(TRACEFS, p);
}

/** The debugfs views need the kprobe layer on a booted kernel; other paths do not. */
function needsMachine(abs: string): boolean {
  const under = (dir: string) => abs === '/' || dir.startsWith(abs + '/') || abs.startsWith(dir);
  return under(KPROBES_DEBUGFS) || under(KPROBES_OPTIMIZATION_DIR);
}

/**
 * The tree every fs command sees, with the state's tracefs. A write runs under the state lock and
 * the state is saved after it, also when the write failed (error_log changed).
 */
async function withVfs<T>(args: GlobalArgs, abs: string, use: (vfs: Vfs) => T, write = false, text = ''): Promise<T> {
  const { Vfs } = await import('../../trace/vfs.js');
  const { addProcfs } = await import('../../trace/procfs.js');
  const { addTracefs } = await import('../../trace/runtime/tracefs.js');
  const { imageSymbolizer } = await import('../../trace/runtime/context.js');
  const { loadImage } = await import('../load-image.js');
  const { stateDir } = await import('../state/dir.js');
  const store = await import('../state/store.js');
  const { loadTracing, needsBoundaryCheck } = await import('../tracing.js');
  const image = loadImage(args.vmlinux);
  const dir = stateDir(args.state);
  const machine = needsMachine(abs);
  const t = await loadTracing({ machine, canProbe: write && needsBoundaryCheck(text, image), image });
  const build = (state: import('../state/store.js').StateFile) => {
    const vfs = new Vfs();
    addProcfs(vfs, image);
    if (machine) {
      const ms = t.machine(image, state, state.cpus || 2);
      addTracefs(vfs, ms.session, { mgr: ms.mgr, typeOf: ms.krm.typeOf, sym: imageSymbolizer(image) });
      return { vfs, session: ms.session };
    }
    const session = t.light(image, state);
    addTracefs(vfs, session, { sym: imageSymbolizer(image) });
    return { vfs, session };
  };
  if (!write) return use(build(store.loadState(dir, args.vmlinux)).vfs);
  return store.updateState(dir, args.vmlinux, (s) => {
    const b = build(s);
    const result = use(b.vfs);
    return { state: { ...s, ...b.session.snapshot() }, result };
  });
}

async function fail(tool: string, path: string, errno: number): Promise<never> {
  const { strerror } = await import('../../base/errno.js');
  throw new CliError(`${tool}: ${path}: ${strerror(errno)}`, 1, { bare: true });
}

const cat: CommandModule<GlobalArgs, PathArgs> = {
  command: 'cat <path>',
  describe: 'print a file',
  builder: (y) => y.positional('path', { type: 'string', demandOption: true })
    .example('$0 fs cat /proc/kallsyms', 'every symbol: address, type letter, name')
    .example('$0 fs cat kprobe_events', 'the defined probes (relative to /sys/kernel/tracing)')
    .example('$0 fs cat /sys/kernel/debug/kprobes/list', 'the registered kprobes'),
  handler: async (args) => {
    const abs = resolvePath(args.path);
    if (STATIC.has(abs)) {
      // Files of the image alone (/proc/kallsyms, the kprobe blacklist): no state or machine, cached for big images.
      const { loadImage } = await import('../load-image.js');
      const { staticFileText } = await import('../symbol-index.js');
      const { out } = await import('../../output/write.js');
      out(await staticFileText(loadImage(args.vmlinux), args.vmlinux, abs));
      return;
    }
    // Reading trace_pipe (or a CPU's) consumes what it reads: a read-modify-write of the state, under the lock.
    const r = await withVfs(args, abs, (vfs) => vfs.read(abs), abs === `${TRACEFS}/trace_pipe` || /^\/sys\/kernel\/tracing\/per_cpu\/cpu\d+\/trace_pipe$/.test(abs));
    if (!r.ok) return fail('cat', args.path, r.errno);
    const { out } = await import('../../output/write.js');
    out(r.text);
  },
};

const write: CommandModule<GlobalArgs, WriteArgs> = {
  command: 'write <path> <text>',
  describe: 'write TEXT and a newline to a file, like `echo TEXT >> PATH` (--truncate: `>`)',
  builder: (y) => y.positional('path', { type: 'string', demandOption: true })
    .positional('text', { type: 'string', demandOption: true })
    .option('truncate', { type: 'boolean', default: false, describe: 'open with O_TRUNC, like `>`' })
    .example("$0 fs write kprobe_events 'p:myprobe vfs_read fd=%di'", 'define a probe event')
    .example('$0 fs write events/kprobes/myprobe/enable 1', 'enable it')
    .example("$0 fs write --truncate kprobe_events ''", 'remove every probe event'),
  handler: async (args) => {
    const abs = resolvePath(args.path);
    const text = args.text + '\n';
    const r: Result = await withVfs(args, abs, (vfs) => vfs.write(abs, text, { truncate: args.truncate }), true, text);
    if (!r.ok) {
      const { strerror, ENOENT, EISDIR } = await import('../../base/errno.js');
      // Opening fails before any write for a missing file or a directory: the shell's redirection message.
      if (r.errno === -ENOENT && !(await withVfs(args, abs, (vfs) => vfs.lookup(abs) !== undefined))) return fail('ktrace', args.path, r.errno);
      if (r.errno === -EISDIR) return fail('ktrace', args.path, r.errno);
      throw new CliError(`write error: ${strerror(r.errno)}`);
    }
  },
};

const ls: CommandModule<GlobalArgs, PathArgs> = {
  command: 'ls [path]',
  describe: 'list a directory',
  builder: (y) => y.positional('path', { type: 'string', default: '/' })
    .example('$0 fs ls /proc', 'the files under /proc')
    .example('$0 fs ls events/kprobes', 'the kprobe events'),
  handler: async (args) => {
    const path = args.path ?? '/';
    const abs = resolvePath(path);
    const r = await withVfs(args, abs, (vfs) => vfs.list(abs));
    if (!r.ok) return fail('ls', path, r.errno);
    const { out } = await import('../../output/write.js');
    out(r.entries.map((e) => e.name + '\n').join(''));
  },
};

const command: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'fs',
  describe: 'read and write the kernel-visible files (/proc/kallsyms, tracefs, kprobes debugfs)',
  builder: (y: Argv<GlobalArgs>) => y.command(cat).command(write).command(ls).demandCommand(1, 'fs: a subcommand is required (cat, write, ls)')
    .example('$0 fs cat /proc/kallsyms', 'the kernel symbol table')
    .example("$0 fs write kprobe_events 'p:myprobe vfs_read'", 'define a probe, as with echo >> kprobe_events')
    .example('$0 fs ls /sys/kernel/tracing', 'list a directory') as unknown as Argv<GlobalArgs>,
  handler: () => {},
};
export default command;
export const fast: FastCommand[] = [
  ...[cat, ls].map((c) => ({ command: 'fs ' + (c.command as string), options: {}, handler: c.handler })),
  { command: 'fs write <path> <text>', options: { truncate: { type: 'boolean' as const, default: false } }, handler: write.handler, endOfOptions: true },
];
