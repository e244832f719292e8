// ktrace's command line (the entry point is main.ts): yargs setup, lazy command loading, and the one place errors become
// a single line on stderr and an exit status.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../paths.js';
import { COMMANDS } from './commands.js';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './errors.js';
import { globalOptions, resolveKernel } from './options.js';
import { fastParse } from './fastargs.js';

function version(): string {
  try {
    return String(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  } catch {
    return 'unknown';
  }
}

export class UsageError extends Error {}

/** perf probe's action flags as commands: `ktrace -a SPEC` is `ktrace add SPEC`, likewise -d, -l, -D, -L, -V SPEC. */
export function perfActionAliases(argv: string[]): string[] {
  let i = 0;
  while (i < argv.length && (argv[i] === '-k' || argv[i] === '--vmlinux' || argv[i] === '--state')) i += 2;
  const a = argv[i];
  const map: Record<string, string[]> = { '-a': ['add'], '-d': ['del'], '-l': ['list'], '-D': ['add', '-D'], '-L': ['line'] };
  // perf's -V SPEC lists variables; a bare -V stays --version
  if (a === '-V' && argv[i + 1] !== undefined) map['-V'] = ['vars'];
  return a !== undefined && map[a] ? [...argv.slice(0, i), ...map[a]!, ...argv.slice(i + 1)] : argv;
}

export async function main(argv: string[]): Promise<number> {
  argv = perfActionAliases(argv);
  // Load only the command being run; all of them when none is named (help, errors).
  const first = argv.find((a) => !a.startsWith('-') && !isOptionValue(argv, a));
  const wanted = COMMANDS.filter((c) => c.name === first);
  if (first !== undefined && wanted.length === 0) {
    return report(new UsageError(`unknown command '${first}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`));
  }
  const modules = await Promise.all((wanted.length ? wanted : COMMANDS).map((c) => c.load()));
  try {
    // Plain invocations run without yargs; help, version and anything odd go through yargs below.
    // KTRACE_FASTARGS=0 sends everything through yargs (the tests compare both paths).
    if (wanted.length && process.env.KTRACE_FASTARGS !== '0') {
      for (const f of modules[0]!.fast ?? []) {
        const args = fastParse(argv, { ...globalOptions, ...f.options }, f.command, { endOfOptions: f.endOfOptions });
        if (args) {
          args.vmlinux = await resolveKernel(args.vmlinux as string);
          await f.handler(args);
          return typeof process.exitCode === 'number' ? process.exitCode : 0;
        }
      }
    }
  } catch (e) {
    return report(e);
  }

  const { default: yargs } = await import('yargs');
  let y = yargs(argv)
    .scriptName('ktrace')
    .usage('ktrace: perf-probe-style kprobes tracing of an emulated x86-64 Linux-like kernel\n\nUsage: $0 <command> [options]')
    .options(globalOptions)
    .middleware(async (a) => { if (typeof a.vmlinux === 'string') a.vmlinux = await resolveKernel(a.vmlinux); })
    .strict()
    .demandCommand(1, 'a command is required')
    .recommendCommands()
    .version(version())
    .help()
    .alias('h', 'help')
    .alias('V', 'version')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .epilogue('Run `ktrace <command> --help` for a command\'s options and examples.')
    .fail((msg, err) => {
      // yargs reports its own parse problems (e.g. `-k` without a value) as YError: usage errors too.
      if (err && err.name !== 'YError') throw err;
      throw new UsageError(msg ?? err?.message ?? 'usage error');
    });
  for (const m of modules) y = y.command(m.default);
  y = y.example('$0 funcs \'vfs_*\'', 'list probe-able functions matching a glob')
    .example('$0 disasm vfs_read', 'disassemble a function, as objdump -d does')
    .example('$0 fs cat /proc/kallsyms', 'show the kernel\'s symbol table');

  try {
    await y.parseAsync();
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    return report(e);
  }
}

/** True when `a` is the value of the option before it (`-k FILE`), so it is not the command name. */
function isOptionValue(argv: string[], a: string): boolean {
  const i = argv.indexOf(a);
  const prev = i > 0 ? argv[i - 1]! : '';
  return prev === '-k' || prev === '--vmlinux' || prev === '--state';
}

/** Prints an error as one line (the stack only with KTRACE_DEBUG=1) and returns the exit status. */
export function report(e: unknown): number {
  if (e instanceof UsageError) {
    process.stderr.write(`ktrace: ${e.message}\nTry 'ktrace --help' for more information.\n`);
    return EXIT_USAGE;
  }
  if (e instanceof CliError) {
    process.stderr.write(e.bare ? `${e.message}\n` : `ktrace: ${e.message}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  // Malformed input found after the image was opened (sections are read lazily): still one line.
  if (err?.name === 'ElfError' || err?.name === 'DwarfError') {
    process.stderr.write(`ktrace: ${err.name === 'DwarfError' ? 'bad debug info: ' : ''}${err.message}\n`);
    return EXIT_FAILURE;
  }
  process.stderr.write(`ktrace: internal error: ${err?.message ?? String(e)}\n`);
  if (process.env.KTRACE_DEBUG === '1' && err?.stack) process.stderr.write(err.stack + '\n');
  else process.stderr.write('(set KTRACE_DEBUG=1 for the stack trace)\n');
  return EXIT_FAILURE;
}

