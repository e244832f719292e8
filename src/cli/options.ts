// Options every command shares.
import { DEFAULT_VMLINUX } from '../paths.js';

export interface GlobalArgs {
  vmlinux: string;
  /** The state directory (see state/dir.ts for the defaults). */
  state?: string;
}

export const globalOptions = {
  vmlinux: {
    alias: 'k',
    type: 'string' as const,
    describe: 'kernel image (ELF with symbols)',
    default: DEFAULT_VMLINUX,
    defaultDescription: 'the bundled fixtures/vmlinux',
    requiresArg: true,
  },
  state: {
    type: 'string' as const,
    describe: 'state directory: defined events, counters, trace buffer',
    defaultDescription: '$KTRACE_STATE, or $XDG_STATE_HOME/ktrace, or ~/.local/state/ktrace',
    requiresArg: true,
  },
};
