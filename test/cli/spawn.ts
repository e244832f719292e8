// Running the CLI as a separate process that the test can signal, read from as it goes and
// measure (peak RSS from /proc), for the tests of `ktrace run` under real terminals and pipes.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { MAIN, TEST_STATE } from './run.js';
import { FIXTURE } from '../elf/fixture.js';

/** `node MAIN -k FIXTURE ARGS`, as argv (for a shell line: quote it). */
export const KTRACE_ARGV = [process.execPath, MAIN, '-k', FIXTURE];

export interface Live {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** VmHWM of the process, in kB, last seen (polled every 50 ms while it runs). */
  peakKb: number;
  started: number;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

export function vmHwmKb(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch { return undefined; }
}

export function start(cmd: string, args: string[], env: Record<string, string> = {}, keepStdout = true): Live {
  const child = spawn(cmd, args, { env: { ...process.env, NO_COLOR: '1', KTRACE_STATE: TEST_STATE, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const live: Live = { child, stdout: '', stderr: '', peakKb: 0, started: Date.now(), done: undefined as never };
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  if (keepStdout) child.stdout!.on('data', (d: string) => { live.stdout += d; });
  child.stderr!.on('data', (d: string) => { live.stderr += d; });
  const poll = setInterval(() => { const k = child.pid && vmHwmKb(child.pid); if (k) live.peakKb = Math.max(live.peakKb, k); }, 50);
  live.done = new Promise((resolve) => child.on('close', (code, signal) => { clearInterval(poll); resolve({ code, signal, ms: Date.now() - live.started }); }));
  return live;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the result, or rejects (after a SIGKILL) when the process outlives `ms`. */
export async function within<T>(p: Promise<T>, ms: number, child: ChildProcess, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_r, reject) => { timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${what}: still running after ${ms} ms`)); }, ms); });
  try { return await Promise.race([p, t]); } finally { clearTimeout(timer); }
}
