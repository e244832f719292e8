// ktrace's command line (the entry point is main.ts): yargs setup, lazy command loading, and the one place errors become
// a single line on stderr and an exit status.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../paths.js';
import { COMMANDS } from './commands.js';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from './errors.js';
import { applyColor, globalOptions, resolveKernel } from './options.js';
import { fastParse } from './fastargs.js';
import { colorEnabled, styler } from '../output/tty.js';

function version(): string {
  try {
    return String(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  } catch {
    return 'unknown';
  }
}

export class UsageError extends Error {
  /** The command whose --help the message points to. */
  command?: string;
}

/** perf probe's action options (builtin-probe.c) and the ktrace command each one is. */
const ACTIONS: Record<string, { command: string; long: string; value: 'required' | 'optional' }> = {
  '-a': { command: 'add', long: '--add', value: 'required' },
  '-D': { command: 'add', long: '--definition', value: 'required' },
  '-d': { command: 'del', long: '--del', value: 'required' },
  '-l': { command: 'list', long: '--list', value: 'optional' },
  '-L': { command: 'line', long: '--line', value: 'required' },
  '-V': { command: 'vars', long: '--vars', value: 'required' },
  '-F': { command: 'funcs', long: '--funcs', value: 'optional' },
};
const BY_LONG = new Map(Object.entries(ACTIONS).map(([short, a]) => [a.long, short]));
/** Options (of any command) that take a value, so that the value is not read as an operand. */
const VALUED = new Set(['-k', '--vmlinux', '--state', '--color', '-s', '--source', '--max-probes', '--filter']);

/**
 * perf probe's command line as ktrace commands: `ktrace -a SPEC [-a SPEC...]` (or --add) is
 * `ktrace add -a SPEC ...`, `-D SPEC` (--definition) `add -D -a SPEC`, `-d EV [-d EV...]` (--del)
 * `del EV ...`, `-l [EV]` (--list), `-L SPEC` (--line), `-V SPEC` (--vars), `-F [FILTER]` (--funcs);
 * perf's other options (-f, -n, -q, -v, -s DIR, --no-inlines, --max-probes N, -k) stay where they
 * are for the command. Argv without an action option, or naming a command first, is returned as is.
 * Two different actions are a usage error, as perf's "another command except --add is set".
 */
export function perfActionAliases(argv: string[]): string[] {
  let command: string | undefined, first: string | undefined;
  const rest: string[] = [], operands: string[] = [], addSpecs: string[] = [];
  let definition = false;
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    if (a === '--') { rest.push(...argv.slice(i)); break; }
    let inline: string | undefined;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    if (eq > 0) { inline = a.slice(eq + 1); a = a.slice(0, eq); }
    const short = ACTIONS[a] ? a : BY_LONG.get(a);
    if (!short) {
      if (!a.startsWith('-') || a === '-') {
        if (command === undefined) return argv; // a command word (or a mistake yargs will name)
        operands.push(argv[i]!);
      } else {
        rest.push(argv[i]!);
        if (VALUED.has(a) && inline === undefined && i + 1 < argv.length) rest.push(argv[++i]!);
      }
      continue;
    }
    const act = ACTIONS[short]!;
    if (command !== undefined && command !== act.command) {
      throw new UsageError(`${first} and ${a} in one command: give one action (perf probe: another command except --add is set)`);
    }
    command = act.command;
    first ??= a;
    let value = inline;
    if (value === undefined && i + 1 < argv.length && (act.value === 'required' || !argv[i + 1]!.startsWith('-'))) value = argv[++i]!;
    if (value === undefined && act.value === 'required') throw new UsageError(`option ${short} (${act.long}) requires a value`);
    if (short === '-a' || short === '-D') { addSpecs.push(value!); if (short === '-D') definition = true; } else if (value !== undefined) operands.push(value);
  }
  if (command === undefined) return argv;
  // perf's --funcs --filter FILTER: ktrace funcs takes the filter as its operand.
  const fi = rest.findIndex((x) => x === '--filter' || x.startsWith('--filter='));
  if (command === 'funcs' && fi >= 0) {
    const cut = rest.splice(fi, rest[fi] === '--filter' ? 2 : 1);
    operands.push(cut.length === 2 ? cut[1]! : cut[0]!.slice('--filter='.length));
  }
  if (command === 'add') return ['add', ...(definition ? ['-D'] : []), ...addSpecs.flatMap((v) => ['-a', v]), ...rest, ...operands];
  return [command, ...rest, ...operands];
}

/**
 * A yargs parse message in ktrace's words: options by their flag (not yargs' keys with their
 * camelCase twins: "Unknown arguments: max-probes, maxProbes"), operands by their value, the
 * command's usage where an operand is missing or extra.
 */
export function usageMessage(msg: string, argv: readonly string[], usage?: string): string {
  const flag = (k: string) => (k.length === 1 ? `-${k}` : `--${k}`);
  const camel = (k: string) => k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
  let m = /^Unknown arguments?: (.*)$/.exec(msg);
  if (m) {
    const keys = m[1]!.split(', ');
    const uniq = keys.filter((k) => !keys.some((o) => o !== k && o.includes('-') && camel(o) === k));
    const opts = uniq.filter((k) => argv.some((x) => x === flag(k) || x.startsWith(flag(k) + '=') || (k.length === 1 && /^-[A-Za-z]+$/.test(x) && x.includes(k))));
    const words = uniq.filter((k) => !opts.includes(k));
    const parts = [];
    if (opts.length) parts.push(`unknown option${opts.length > 1 ? 's' : ''} ${opts.map(flag).join(', ')}`);
    if (words.length) parts.push(`unexpected argument${words.length > 1 ? 's' : ''} ${words.map((w) => `'${w}'`).join(', ')}`);
    return parts.join('; ') + (usage && words.length ? ` (usage: ktrace ${usage})` : '');
  }
  if (/^Not enough non-option arguments/.test(msg)) return `missing argument${usage ? ` (usage: ktrace ${usage})` : ''}`;
  if (/^Too many non-option arguments/.test(msg)) return `too many arguments${usage ? ` (usage: ktrace ${usage})` : ''}`;
  m = /^Not enough arguments following: (.*)$/.exec(msg);
  if (m) return `option ${flag(m[1]!)} requires a value`;
  m = /^Missing required arguments?: (.*)$/.exec(msg);
  if (m) return `missing ${m[1]!.split(', ').map((k) => `<${k}>`).join(', ')}${usage ? ` (usage: ktrace ${usage})` : ''}`;
  return msg;
}

export async function main(argv: string[]): Promise<number> {
  try { argv = perfActionAliases(argv); } catch (e) { return report(e); }
  // Load only the command being run; all of them when none is named (help, errors).
  const first = argv.find((a) => !a.startsWith('-') && !isOptionValue(argv, a));
  const wanted = COMMANDS.filter((c) => c.name === first);
  if (first !== undefined && wanted.length === 0) {
    return report(new UsageError(`unknown command '${first}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})`));
  }
  if (first === undefined && argv.includes('-V')) return report(new UsageError('option -V (--vars) requires a value (perf probe -V PROBEPOINT; the version is --version)'));
  const modules = await Promise.all((wanted.length ? wanted : COMMANDS).map((c) => c.load()));
  try {
    // Plain invocations run without yargs; help, version and anything odd go through yargs below.
    // KTRACE_FASTARGS=0 sends everything through yargs (the tests compare both paths).
    if (wanted.length && process.env.KTRACE_FASTARGS !== '0') {
      for (const f of modules[0]!.fast ?? []) {
        const args = fastParse(argv, { ...globalOptions, ...f.options }, f.command, { endOfOptions: f.endOfOptions });
        if (args) {
          args.vmlinux = await resolveKernel(args.vmlinux as string);
          await applyColor(args.color);
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
    .middleware(async (a) => { await applyColor(a.color); if (typeof a.vmlinux === 'string') a.vmlinux = await resolveKernel(a.vmlinux); })
    .strict()
    .demandCommand(1, 'a command is required')
    .recommendCommands()
    .version(version())
    .help()
    .alias('h', 'help')
    .wrap(Math.min(100, process.stdout.columns || 100))
    .epilogue('perf probe\'s own options work too: -a/--add, -D/--definition, -d/--del, -l/--list, -L/--line, -V/--vars, -F/--funcs '
      + '(with -f, -n, -q, -v, -s DIR, --no-inlines, --max-probes N).\nRun `ktrace <command> --help` (or `ktrace help <command>`) for a command\'s options and examples.')
    .fail((msg, err) => {
      // yargs reports its own parse problems (e.g. `-k` without a value) as YError: usage errors too.
      if (err && err.name !== 'YError') throw err;
      const usage = wanted.length ? String(modules[0]!.default.command ?? '') : undefined;
      const u = new UsageError(usageMessage(msg ?? err?.message ?? 'usage error', argv, usage));
      if (wanted.length) u.command = wanted[0]!.name;
      throw u;
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
  return prev === '-k' || prev === '--vmlinux' || prev === '--state' || prev === '--color';
}

/** Prints an error as one line (the stack only with KTRACE_DEBUG=1) and returns the exit status. */
export function report(e: unknown): number {
  // An error's first line in red on a terminal (--color, NO_COLOR as for the rest of the output).
  const red = styler(colorEnabled(process.stderr));
  const orig = process.stderr.write.bind(process.stderr);
  const write = (text: string) => { const i = text.indexOf('\n'); orig(i > 0 ? red('red', text.slice(0, i)) + text.slice(i) : text); };
  return reportTo(e, write);
}

function reportTo(e: unknown, write: (text: string) => void): number {
  if (e instanceof UsageError) {
    write(`ktrace: ${e.command ? `${e.command}: ` : ''}${e.message}\nTry 'ktrace ${e.command ? `${e.command} ` : ''}--help' for more information.\n`);
    return EXIT_USAGE;
  }
  if (e instanceof CliError) {
    write(e.bare ? `${e.message}\n` : `ktrace: ${e.message}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  // The domain's one-line errors: an image that cannot be opened, debug info missing or malformed
  // (src/debuginfo: DebugInfoError), and malformed input found after the image was opened (sections
  // are read lazily).
  if (err?.name === 'ElfError' || err?.name === 'DwarfError' || err?.name === 'DebugInfoError') {
    write(`ktrace: ${err.name === 'DwarfError' ? 'bad debug info: ' : ''}${err.message}\n`);
    return EXIT_FAILURE;
  }
  write(`ktrace: internal error: ${err?.message ?? String(e)}\n`);
  if (process.env.KTRACE_DEBUG === '1' && err?.stack) write(err.stack + '\n');
  else write('(set KTRACE_DEBUG=1 for the stack trace)\n');
  return EXIT_FAILURE;
}

