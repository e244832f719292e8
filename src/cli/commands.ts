// The command registry. Adding a command is one line here plus its file in commands/.
// Modules are imported only when their command runs (or for --help), so start-up stays fast;
// a module must keep heavy imports (iced-x86, ink) inside its handler.
import type { CommandModule } from 'yargs';

export interface CommandEntry {
  name: string;
  load: () => Promise<{ default: CommandModule<any, any> }>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'funcs', load: () => import('./commands/funcs.js') },
  { name: 'disasm', load: () => import('./commands/disasm.js') },
  { name: 'fs', load: () => import('./commands/fs.js') },
];
