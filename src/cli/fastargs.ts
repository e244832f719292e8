// A strict, tiny argv parser for the common invocations, so that one-liners like `ktrace funcs`
// start without loading yargs (~100-170 ms of module loading with its help renderer). It reads
// the same option objects the yargs builders use and gives up (returns undefined) on anything
// it does not fully understand (help, version, unknown options, `--`, missing values); yargs
// then parses the same argv and produces the help text or the usage error.

export interface OptionSpec {
  alias?: string | readonly string[];
  type: 'boolean' | 'string' | 'number';
  default?: unknown;
  /** Repeatable: the values collect into an array, as yargs `array: true` (one value per flag here). */
  array?: boolean;
}

export type Options = Record<string, OptionSpec>;

export interface Word { name: string; kind: 'literal' | 'required' | 'optional' }

/** The words of a yargs command string with its parents: `fs cat <path>` → fs, cat (literal), path (required). */
export function words(command: string): Word[] {
  return command.trim().split(/\s+/).map((w) => {
    const m = /^([<[])(\w+)[>\]]$/.exec(w);
    return m ? { name: m[2]!, kind: m[1] === '<' ? 'required' : 'optional' } : { name: w, kind: 'literal' };
  });
}

/** One command the fast path can run: its full command string, its options (globals added by the caller), its handler. */
export interface FastCommand {
  command: string;
  options: Options;
  handler: (args: any) => void | Promise<void>;
  /**
   * `--` ends the options and everything after it is positional (for commands whose operands may
   * start with '-', like `fs write kprobe_events -- -:myprobe`). Otherwise `--` goes to yargs.
   */
  endOfOptions?: boolean;
}

/**
 * Parses `argv` (after the command words) against options and positionals. Undefined when yargs
 * must handle it. Values are set under the option name and its aliases, as yargs does.
 */
export function fastParse(argv: readonly string[], options: Options, command: string, opts: { endOfOptions?: boolean } = {}): Record<string, unknown> | undefined {
  const byFlag = new Map<string, [string, OptionSpec]>();
  for (const [name, spec] of Object.entries(options)) {
    byFlag.set(name.length === 1 ? '-' + name : '--' + name, [name, spec]);
    const aliases = spec.alias === undefined ? [] : typeof spec.alias === 'string' ? [spec.alias] : spec.alias;
    for (const a of aliases) byFlag.set(a.length === 1 ? '-' + a : '--' + a, [name, spec]);
  }
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(options)) if (spec.default !== undefined) out[name] = spec.default;
  const pos: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--' && opts.endOfOptions) { pos.push(...argv.slice(i + 1)); break; }
    if (a.startsWith('-') && a !== '-') {
      let flag = a, value: string | undefined;
      const eq = a.indexOf('=');
      if (a.startsWith('--') && eq > 0) { flag = a.slice(0, eq); value = a.slice(eq + 1); }
      const hit = byFlag.get(flag);
      // --no-X negates a boolean option X, as yargs does.
      const neg = !hit && flag.startsWith('--no-') ? byFlag.get('--' + flag.slice(5)) : undefined;
      if (neg) {
        if (neg[1].type !== 'boolean' || value !== undefined) return undefined;
        out[neg[0]] = false;
        continue;
      }
      if (!hit) return undefined;
      const [name, spec] = hit;
      if (spec.type === 'boolean') {
        if (value !== undefined) return undefined;
        out[name] = true;
      } else {
        if (value === undefined) {
          value = argv[++i];
          if (value === undefined || value.startsWith('-')) return undefined;
          // yargs lets an array option take the words after it too: that reading is yargs' to make.
          if (spec.array && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) return undefined;
        }
        // yargs' number parsing: a number, or NaN for anything else (the handlers check).
        const v = spec.type === 'number' ? (value.trim() === '' ? NaN : Number(value)) : value;
        if (spec.array) {
          const prev = out[name];
          out[name] = Array.isArray(prev) ? [...prev, v] : [v];
        } else out[name] = v;
      }
    } else pos.push(a);
  }
  const want = words(command);
  if (pos.length > want.length) return undefined;
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    if (i >= pos.length) { if (w.kind !== 'optional') return undefined; continue; }
    if (w.kind === 'literal') { if (pos[i] !== w.name) return undefined; } else out[w.name] = pos[i];
  }
  for (const [name, spec] of Object.entries(options)) {
    const aliases = spec.alias === undefined ? [] : typeof spec.alias === 'string' ? [spec.alias] : spec.alias;
    for (const a of aliases) if (name in out) out[a] = out[name];
  }
  return out;
}
