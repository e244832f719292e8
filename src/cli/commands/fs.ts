// ktrace fs cat|ls PATH: the kernel-visible files (/proc/kallsyms now; tracefs and debugfs later),
// read through the virtual file tree.
import type { Argv, CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import type { Vfs } from '../../trace/vfs.js';
import { CliError } from '../errors.js';
import type { FastCommand } from '../fastargs.js';

interface PathArgs extends GlobalArgs { path: string }

/** The tree every fs command sees. Later issues add their nodes here. */
async function buildVfs(vmlinux: string): Promise<Vfs> {
  const { Vfs } = await import('../../trace/vfs.js');
  const { addProcfs } = await import('../../trace/procfs.js');
  const { loadImage } = await import('../image.js');
  const vfs = new Vfs();
  addProcfs(vfs, loadImage(vmlinux));
  return vfs;
}

async function fail(tool: string, path: string, errno: number): Promise<never> {
  const { strerror } = await import('../../trace/vfs.js');
  throw new CliError(`${tool}: ${path}: ${strerror(errno)}`, 1, { bare: true });
}

const cat: CommandModule<GlobalArgs, PathArgs> = {
  command: 'cat <path>',
  describe: 'print a file',
  builder: (y) => y.positional('path', { type: 'string', demandOption: true })
    .example('$0 fs cat /proc/kallsyms', 'every symbol: address, type letter, name')
    .example("$0 fs cat /proc/kallsyms | grep ' vfs_'", 'filter it with the usual tools'),
  handler: async (args) => {
    const vfs = await buildVfs(args.vmlinux);
    const r = vfs.read(args.path);
    if (!r.ok) return fail('cat', args.path, r.errno);
    const { out } = await import('../../output/write.js');
    out(r.text);
  },
};

const ls: CommandModule<GlobalArgs, PathArgs> = {
  command: 'ls [path]',
  describe: 'list a directory',
  builder: (y) => y.positional('path', { type: 'string', default: '/' })
    .example('$0 fs ls /proc', 'the files under /proc'),
  handler: async (args) => {
    const vfs = await buildVfs(args.vmlinux);
    const r = vfs.list(args.path);
    if (!r.ok) return fail('ls', args.path, r.errno);
    const { out } = await import('../../output/write.js');
    out(r.entries.map((e) => e.name + '\n').join(''));
  },
};

const command: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'fs',
  describe: 'read the kernel-visible files (/proc/kallsyms, ...)',
  builder: (y: Argv<GlobalArgs>) => y.command(cat).command(ls).demandCommand(1, 'fs: a subcommand is required (cat, ls)')
    .example('$0 fs cat /proc/kallsyms', 'the kernel symbol table')
    .example('$0 fs ls /proc', 'list a directory') as unknown as Argv<GlobalArgs>,
  handler: () => {},
};
export default command;
export const fast: FastCommand[] = [cat, ls].map((c) => ({ command: 'fs ' + (c.command as string), options: {}, handler: c.handler }));
