// Runs fuzz cases in a worker thread so that each case is time-bounded: the worker bumps a shared
// counter after every case, and a case that does not finish within `timeoutMs` is a hang (the worker is
// terminated, the case recorded, and a new worker goes on from the next case). In the worker, anything a
// case writes to stdout or stderr is a failure (a case ends with a result or a one-line error, nothing
// else), as is any exception the case's `expected` does not accept or a multi-line error message.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export interface FuzzReport { cases: number; results: number; errors: number; hangs: string[]; failures: string[]; ms: number }

/** xorshift32, deterministic across runs and machines. */
export function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n: number) => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x % n; };
}

/** A seeded mutation: bit flips, random or boundary bytes, 4- and 8-byte fields set to extremes, truncation. */
export function mutate(src: Uint8Array, rand: (n: number) => number, hot?: readonly (readonly [number, number])[]): Uint8Array {
  const kind = rand(6);
  if (kind === 5) return src.slice(0, rand(src.length)); // truncation
  const b = new Uint8Array(src);
  const n = 1 + rand(8);
  for (let i = 0; i < n && b.length; i++) {
    let at = rand(b.length);
    if (hot && rand(2) === 0) { const [s, l] = hot[rand(hot.length)]!; at = Math.min(b.length - 1, s + rand(Math.max(1, l))); }
    if (kind === 0) b[at] ^= 1 << rand(8);
    else if (kind === 1) b[at] = rand(256);
    else if (kind === 2) b[at] = [0, 0xff, 0x7f, 0x80, 1][rand(5)]!;
    else { const w = kind === 3 ? 4 : 8, v = [0, 0xff, 0x7f, 0x80][rand(4)]!; for (let j = 0; j < w && at + j < b.length; j++) b[at + j] = j === w - 1 ? v : v === 0x7f ? 0xff : v; }
  }
  return b;
}

export interface FuzzTarget {
  /** Runs case i (deterministic in i): returns normally for a result, or throws. */
  run(i: number): void;
  /** Is this exception a one-line user error the CLI prints as is (ElfError, DwarfError, CliError)? */
  expected(e: unknown): boolean;
}

/** Worker side: call from the test file when !isMainThread. */
export function serveFuzz(target: () => FuzzTarget): void {
  const { from, to, counter } = workerData as { from: number; to: number; counter: SharedArrayBuffer };
  const done = new Int32Array(counter);
  let out = '';
  const capture = (s: unknown) => { out += String(s); return true; };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  for (const k of ['log', 'error', 'warn', 'info', 'debug'] as const) console[k] = (...a: unknown[]) => { capture(a.join(' ') + '\n'); };
  const t = target();
  // Counters in shared memory (a hung worker is terminated without a last word): [done, results, errors,
  // ready]; the clock of the first case starts when the worker is ready (its start-up is no case's time).
  Atomics.store(done, 3, 1);
  const fail = (m: string) => parentPort!.postMessage(m);
  for (let i = from; i < to; i++) {
    out = '';
    try { t.run(i); Atomics.add(done, 1, 1); } catch (e) {
      const msg = (e as Error)?.message ?? String(e);
      if (!t.expected(e)) fail(`case ${i}: ${(e as Error)?.stack ?? String(e)}`);
      else if (!msg || msg.includes('\n')) fail(`case ${i}: not a one-line error: ${JSON.stringify(msg)}`);
      else Atomics.add(done, 2, 1);
    }
    if (out) fail(`case ${i}: wrote ${JSON.stringify(out.slice(0, 200))}`);
    Atomics.store(done, 0, i + 1);
  }
}

/** Main side: runs cases [0, n) of the test file `file` (its import.meta.url), each within timeoutMs. */
export async function fuzz(file: string | URL, n: number, timeoutMs: number): Promise<FuzzReport> {
  const started = Date.now();
  const report: FuzzReport = { cases: n, results: 0, errors: 0, hangs: [], failures: [], ms: 0 };
  let from = 0;
  while (from < n) {
    const counter = new SharedArrayBuffer(16), done = new Int32Array(counter);
    Atomics.store(done, 0, from);
    const w = new Worker(new URL(file), { workerData: { from, to: n, counter }, stdout: true, stderr: true });
    const next = await new Promise<number>((resolve) => {
      let last = from, since = Date.now(), finished = false, ready = false;
      const tick = setInterval(() => {
        const now = Atomics.load(done, 0);
        if (now !== last || !ready) { last = now; since = Date.now(); ready = Atomics.load(done, 3) === 1; return; }
        if (Date.now() - since > timeoutMs) {
          clearInterval(tick); finished = true;
          report.hangs.push(`case ${now}: no result within ${timeoutMs} ms`);
          void w.terminate();
          resolve(now + 1);
        }
      }, 50);
      w.on('message', (m: string) => { report.failures.push(m); });
      w.on('error', (e) => { report.failures.push(`worker died after case ${Atomics.load(done, 0)}: ${e.stack ?? e}`); });
      w.on('exit', () => { clearInterval(tick); if (!finished) resolve(n); });
    });
    report.results += Atomics.load(done, 1); report.errors += Atomics.load(done, 2);
    from = next;
  }
  report.ms = Date.now() - started;
  return report;
}

export { isMainThread };
