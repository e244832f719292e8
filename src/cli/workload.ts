// Workload scripts for the CLI: src/kernel/workload/load.ts finds, reads and parses them; here its
// errors become the CLI's one-line form (`ktrace: <file>: Is a directory`; a script's mistake printed
// bare, as the parser formats it with its caret lines).
import type { Script } from '../kernel/workload/ast.js';
import { WorkloadError } from '../kernel/workload/error.js';
import * as load from '../kernel/workload/load.js';
import { CliError } from './errors.js';

export { bundledWorkloads, MAX_WORKLOAD_BYTES, WORKLOAD_DIR, WORKLOAD_EXT } from '../kernel/workload/load.js';

/** A workload's failure as the CLI's error; anything else unchanged. */
export function workloadCliError(e: unknown): unknown {
  if (e instanceof load.WorkloadFileError) return new CliError(e.message);
  if (e instanceof WorkloadError) return new CliError(e.format(), 1, { bare: true });
  return e;
}

function cli<T>(f: () => T): T {
  try { return f(); } catch (e) { throw workloadCliError(e); }
}

export const resolveWorkload = (spec: string): { path: string; display: string } => cli(() => load.resolveWorkload(spec));
export const readBounded = (path: string, max: number): string => cli(() => load.readBounded(path, max));
export const loadWorkload = (spec: string): Script => cli(() => load.loadWorkload(spec));
