// The state.json fuzz cases (store.fuzz.test.ts), run in a worker thread so that the test's main
// thread can end a case that hangs: each case writes a mutated state.json into a fresh state
// directory and runs one ktrace command in-process through the CLI's own entry (cli.ts main), with
// stdout and stderr captured. The worker reports each case's start and verdict.
import { parentPort, workerData } from 'node:worker_threads';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { main } from '../../../src/cli/cli.js';
import { readState, STATE_FILE } from '../../../src/cli/state/store.js';
import { uniform } from '../../prng.js';

export interface FuzzJob { seeds: string[]; first: number; count: number; rngSeed: number; vmlinux: string; commands: string[][] }
export type FuzzMsg =
  | { type: 'start'; i: number; input: string; command: string[] }
  | { type: 'done'; i: number; code: number; problem?: string; ms: number }
  | { type: 'end' };

/** The tests' seeded PRNG (test/prng.ts) as numbers in [0, 1): deterministic cases for a given seed. */
export const rng = uniform;

const FIELDS = ['version', 'kprobeEvents', 'enabled', 'kprobesEnabled', 'kprobesOptimization', 'profile', 'ids', 'trace', 'traceEntries',
  'traceWritten', 'errorLog', 'clockNs', 'cpus', 'vmlinux'];
const TOKENS = ['p:', 'r:', '-:', 'probe/', 'kprobes/', 'vfs_read', 'ksys_read+4', '%di', '$retval', 'x=+0(%si):string', '\n', ' ', '+',
  '0x', '9999999999', ':u64', ':s8', '$comm', '@jiffies', '%return', 'MAXACTIVE', 'r100:', 'p:a/b', '/', ''];

/** A random JSON value of a random type (some of them the right type for some field). */
function randomValue(r: () => number, depth = 0): unknown {
  const k = Math.floor(r() * (depth > 2 ? 9 : 12));
  switch (k) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return Math.floor(r() * 20) - 5;
    case 3: return [1e300, -1, 1.5, 2 ** 53, -0, 1e-300, 4294967296][Math.floor(r() * 7)];
    case 4: return ['abc', '', '1e3', '-5', '0x10', '123456789012345678901234567890123', 'probe/vfs_read', 'a/b', '\u0000'][Math.floor(r() * 9)];
    case 5: return TOKENS.slice(0, 1 + Math.floor(r() * 8)).join('');
    case 6: return 'x'.repeat(Math.floor(r() * 4) * 1000);
    case 7: return String(Math.floor(r() * 1e6));
    case 8: return Array.from({ length: 1 + Math.floor(r() * 3) }, () => Math.floor(r() * 100));
    case 9: return Array.from({ length: Math.floor(r() * 3) }, () => randomValue(r, depth + 1));
    case 10: return Object.fromEntries(Array.from({ length: Math.floor(r() * 3) }, (_, i) => [['p:probe/vfs_read vfs_read', 'probe/x', 'code', `k${i}`][i % 4], randomValue(r, depth + 1)]));
    default: return { code: 'BAD', subsystem: 'trace_kprobe', message: 'm', command: 'c', pos: randomValue(r, depth + 1), tsNs: randomValue(r, depth + 1) };
  }
}

/** Every (parent, key) in a JSON tree, for a structural mutation at a random place. */
function places(v: unknown, out: [Record<string, unknown> | unknown[], string | number][] = []): typeof out {
  if (Array.isArray(v)) v.forEach((x, i) => { out.push([v, i]); places(x, out); });
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { out.push([v as Record<string, unknown>, k]); places(x, out); }
  return out;
}

function mutateString(r: () => number, s: string): string {
  const at = Math.floor(r() * (s.length + 1));
  switch (Math.floor(r() * 5)) {
    case 0: return s.slice(0, at) + TOKENS[Math.floor(r() * TOKENS.length)] + s.slice(at);
    case 1: return s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 10));
    case 2: return s.slice(0, at);
    case 3: return s.slice(0, at) + String.fromCharCode(Math.floor(r() * 0x3000)) + s.slice(at + 1);
    default: return s + s.slice(at);
  }
}

/** One mutated state.json file from a valid one. */
export function mutate(r: () => number, seed: string): Buffer {
  const kind = r();
  if (kind < 0.2) {
    // Bytes: flips, truncation, insertions (mostly invalid JSON, some valid).
    const b = Buffer.from(seed);
    const n = 1 + Math.floor(r() * 4);
    let out = b;
    for (let i = 0; i < n; i++) {
      const at = Math.floor(r() * out.length);
      const op = r();
      if (op < 0.4) out[at] = out[at]! ^ (1 << Math.floor(r() * 8));
      else if (op < 0.6) out = out.subarray(0, at);
      else if (op < 0.8) out = Buffer.concat([out.subarray(0, at), Buffer.from(TOKENS[Math.floor(r() * TOKENS.length)]!), out.subarray(at)]);
      else out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + Math.floor(r() * 16))]);
    }
    return out;
  }
  const v = JSON.parse(seed) as Record<string, unknown>;
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const op = r();
    if (op < 0.3) {
      // A top-level field: another value, absent, or a string field edited.
      const f = FIELDS[Math.floor(r() * FIELDS.length)]!;
      const x = r();
      if (x < 0.15) delete v[f];
      else if (x < 0.6 && typeof v[f] === 'string') v[f] = mutateString(r, v[f] as string);
      else v[f] = randomValue(r);
    } else {
      const ps = places(v);
      if (!ps.length) continue;
      const [parent, key] = ps[Math.floor(r() * ps.length)]!;
      const cur = (parent as Record<string, unknown>)[key as string];
      const x = r();
      if (x < 0.4 && typeof cur === 'string') (parent as Record<string, unknown>)[key as string] = mutateString(r, cur);
      else if (x < 0.55 && Array.isArray(parent)) parent.splice(key as number, 1);
      else if (x < 0.65 && !Array.isArray(parent)) delete (parent as Record<string, unknown>)[key as string];
      else if (x < 0.75 && Array.isArray(parent)) parent.push(parent[key as number]);
      else (parent as Record<string, unknown>)[key as string] = randomValue(r);
    }
  }
  if (r() < 0.05) return Buffer.from(JSON.stringify([v, 1, 'x'][Math.floor(r() * 3)]));
  return Buffer.from(JSON.stringify(v));
}

/** Whether the state directory's file reads as valid state (the CLI would use it). */
function valid(dir: string): boolean {
  try { readState(dir); return true; } catch { return false; }
}

async function runCase(job: FuzzJob, i: number, r: () => number): Promise<void> {
  const input = mutate(r, job.seeds[Math.floor(r() * job.seeds.length)]!);
  const command = job.commands[Math.floor(r() * job.commands.length)]!;
  parentPort!.postMessage({ type: 'start', i, input: input.toString('latin1'), command } satisfies FuzzMsg);
  const dir = mkdtempSync(join(tmpdir(), 'ktrace-fuzz-'));
  const file = join(dir, STATE_FILE);
  writeFileSync(file, input);
  const wasValid = valid(dir);
  let stdout = '', stderr = '';
  const ow = process.stdout.write, ew = process.stderr.write;
  process.stdout.write = ((c: string | Uint8Array) => { stdout += String(c); return true; }) as typeof ow;
  process.stderr.write = ((c: string | Uint8Array) => { stderr += String(c); return true; }) as typeof ew;
  process.exitCode = undefined;
  const t0 = performance.now();
  let code: number;
  let problem: string | undefined;
  try {
    code = await main(['-k', job.vmlinux, '--state', dir, ...command]);
  } catch (e) {
    code = -1;
    problem = `main threw: ${(e as Error)?.stack ?? String(e)}`;
  } finally {
    process.stdout.write = ow;
    process.stderr.write = ew;
  }
  const ms = performance.now() - t0;
  if (!problem) {
    const lines = stderr.split('\n').filter((l) => l !== '');
    if (/internal error|\n\s+at /.test(stderr)) problem = `internal error: ${stderr.trim()}`;
    else if (code === 0 && stderr !== '') problem = `succeeded with stderr: ${stderr.trim()}`;
    else if (code !== 0 && !/^(ktrace|cat|ls): /.test(lines[0] ?? '')) problem = `exit ${code} without a ktrace error line: ${JSON.stringify(stderr)}`;
    else if (code !== 0 && lines.length > 1 && !/^  Hint: |^\s+\^|^\s+\S/.test(lines[1]!)) problem = `error of ${lines.length} lines: ${stderr.trim()}`;
    else if (code !== 0 && code !== 1) problem = `exit ${code}: ${stderr.trim()}`;
    else if (readFileSync(file).equals(input)) { /* untouched */ }
    else if (!wasValid) problem = 'an unusable state file was overwritten';
    else if (!valid(dir)) problem = 'the command left an invalid state file';
    else if (wasValid && code !== 0 && /state .*(field|JSON|version)/.test(stderr)) problem = `a valid state refused: ${stderr.trim()}`;
  }
  rmSync(dir, { recursive: true, force: true });
  parentPort!.postMessage({ type: 'done', i, code, problem, ms } satisfies FuzzMsg);
}

if (parentPort && workerData) {
  const job = workerData as FuzzJob;
  // Case i's randomness depends on the seed and i only: a failing case reruns alone.
  for (let i = job.first; i < job.first + job.count; i++) await runCase(job, i, rng(job.rngSeed * 1_000_003 + i));
  parentPort.postMessage({ type: 'end' } satisfies FuzzMsg);
}
