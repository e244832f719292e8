// Runs the CLI as a user would, as a separate process. The main module is found relative to
// this compiled test file (dist*/test/cli → dist*/src/cli/main.js), so any build dir works.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { FIXTURE } from '../elf/fixture.js';

export const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'cli', 'main.js');

const made: string[] = [];
process.on('exit', () => { for (const d of made) rmSync(d, { recursive: true, force: true }); });

/** A temporary directory removed when the test process exits. */
export function tempDir(prefix = 'ktrace-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
}

/** A state directory of this test process, so tests never touch the user's ~/.local/state/ktrace. */
export const TEST_STATE = tempDir('ktrace-test-state-');

/** A fresh, empty state directory. */
export function freshState(): string {
  return tempDir('ktrace-state-');
}

export interface Run { code: number; stdout: string; stderr: string }

/** Runs `ktrace -k FIXTURE ARGS` (the fixture the differential tests use), or without -k when `defaultImage`. */
export function ktrace(args: string[], env: Record<string, string> = {}, defaultImage = false): Run {
  const r = spawnSync(process.execPath, [MAIN, ...(defaultImage ? [] : ['-k', FIXTURE]), ...args], {
    encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, NO_COLOR: '1', KTRACE_STATE: TEST_STATE, ...env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
