// The command registry. Adding a command is one line here plus its file in commands/.
// Modules are imported only when their command runs (or for --help), so start-up stays fast;
// a command module is its definition, and its handler imports the command's action module
// (actions/NAME.ts) or keeps heavy imports (iced-x86, ink) inside the handler.
import type { CommandModule } from 'yargs';
import type { FastCommand } from './fastargs.js';

export interface CommandModuleFile {
  default: CommandModule<any, any>;
  /** Invocations main.ts may run without loading yargs (see fastargs.ts). */
  fast?: FastCommand[];
}

export interface CommandEntry {
  name: string;
  load: () => Promise<CommandModuleFile>;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'funcs', load: () => import('./commands/funcs.js') },
  { name: 'disasm', load: () => import('./commands/disasm.js') },
  { name: 'fs', load: () => import('./commands/fs.js') },
  { name: 'run', load: () => import('./commands/run.js') },
  { name: 'report', load: () => import('./commands/report.js') },
  { name: 'add', load: () => import('./commands/add.js') },
  { name: 'del', load: () => import('./commands/del.js') },
  { name: 'list', load: () => import('./commands/list.js') },
  { name: 'enable', load: () => import('./commands/enable.js') },
  { name: 'disable', load: () => import('./commands/disable.js') },
  { name: 'line', load: () => import('./commands/line.js') },
  { name: 'vars', load: () => import('./commands/vars.js') },
  { name: 'why', load: () => import('./commands/why.js') },
  { name: 'tui', load: () => import('./commands/tui.js') },
  { name: 'help', load: () => import('./commands/help.js') },
];
