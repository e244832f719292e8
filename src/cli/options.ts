// Options every command shares.
import { DEFAULT_VMLINUX } from '../paths.js';
import { CliError } from './errors.js';

export interface GlobalArgs {
  vmlinux: string;
  /** The state directory (see state/dir.ts for the defaults). */
  state?: string;
  /** --color=never|always|auto. */
  color?: string;
}

export const globalOptions = {
  vmlinux: {
    alias: 'k',
    type: 'string' as const,
    describe: 'kernel image (ELF with symbols), or a bundled kernel: mini (the miniature kernel), linux (Linux 6.1)',
    default: DEFAULT_VMLINUX,
    defaultDescription: 'mini, the bundled fixtures/vmlinux',
    requiresArg: true,
  },
  color: {
    type: 'string' as const,
    describe: 'colour event names, histogram bars and errors: never, always, or auto (a terminal without NO_COLOR)',
    default: 'auto',
    requiresArg: true,
  },
  state: {
    type: 'string' as const,
    describe: 'state directory: defined events, counters, trace buffer',
    defaultDescription: '$KTRACE_STATE, or $XDG_STATE_HOME/ktrace, or ~/.local/state/ktrace',
    requiresArg: true,
  },
};

/**
 * -k's value as a file: `mini` is the miniature kernel (fixtures/vmlinux), `linux` the bundled Linux
 * 6.1 (fixtures/linux, expanded into the cache on first use); anything else is a path (write
 * ./linux for a file of that name).
 */
export async function resolveKernel(value: string): Promise<string> {
  if (value === 'mini') return DEFAULT_VMLINUX;
  if (value !== 'linux') return value;
  const { bundledLinuxPath, BundleError } = await import('../kernel/linux/bundle.js');
  try {
    return bundledLinuxPath();
  } catch (e) {
    if (e instanceof BundleError) throw new CliError(`-k linux: ${e.message}`);
    throw e;
  }
}

/** Applies --color (a usage error for anything but never, always, auto). */
export async function applyColor(value: unknown): Promise<void> {
  const { COLOR_MODES, setColorMode } = await import('../output/tty.js');
  const v = value === undefined ? 'auto' : String(value);
  if (!(COLOR_MODES as readonly string[]).includes(v)) throw new CliError(`--color ${v}: expected never, always or auto`, 2);
  setColorMode(v as 'never' | 'always' | 'auto');
}
