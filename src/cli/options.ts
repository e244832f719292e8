// Options every command shares.
import { DEFAULT_VMLINUX } from '../paths.js';

export interface GlobalArgs {
  vmlinux: string;
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
};
