// Finding and parsing a workload script: a bundled name (`default`, `cat`, ...) or a file path.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FIXTURES } from '../paths.js';
import { parseWorkload } from '../kernel/workload/parser.js';
import { WorkloadError } from '../kernel/workload/error.js';
import type { Script } from '../kernel/workload/ast.js';
import { CliError } from './errors.js';

export const WORKLOAD_DIR = join(FIXTURES, 'workloads');
export const WORKLOAD_EXT = '.wl';

export function bundledWorkloads(): string[] {
  try {
    return readdirSync(WORKLOAD_DIR).filter((f) => f.endsWith(WORKLOAD_EXT)).map((f) => f.slice(0, -WORKLOAD_EXT.length)).sort();
  } catch {
    return [];
  }
}

/** Resolve NAME or PATH to a file; the display name is the bundled name or the path as given. */
export function resolveWorkload(spec: string): { path: string; display: string } {
  if (/^[A-Za-z0-9_-]+$/.test(spec) && existsSync(join(WORKLOAD_DIR, spec + WORKLOAD_EXT))) {
    return { path: join(WORKLOAD_DIR, spec + WORKLOAD_EXT), display: spec + WORKLOAD_EXT };
  }
  if (existsSync(spec)) return { path: spec, display: spec };
  const names = bundledWorkloads();
  throw new CliError(`workload '${spec}' not found: not a file, and not a bundled workload (${names.join(', ')})`);
}

export function loadWorkload(spec: string): Script {
  const { path, display } = resolveWorkload(spec);
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(`${path}: ${(e as Error).message}`);
  }
  try {
    return parseWorkload(path === display ? display : basename(path), source);
  } catch (e) {
    if (e instanceof WorkloadError) throw new CliError(e.format(), 1, { bare: true });
    throw e;
  }
}
