// The one fuzz harness of the tests, and its seeded mutators.
//  - The harness (fuzz/serveFuzz): cases run in a worker thread so that each is time-bounded. The
//    worker bumps a shared counter after every case; a case that does not finish within its bound is a
//    hang (the worker is terminated, the case recorded, and a new worker goes on from the next case).
//    Anything a case writes to stdout or stderr is a failure (a case ends with a result or a one-line
//    error, nothing else), as is an exception the target does not accept, or a multi-line error.
//  - Byte mutation (mutateBytes) for binary inputs: ELF images, DWARF sections.
//  - Structure-aware text campaigns (runCampaign/serveCampaign) for the parsers (kprobe_events lines,
//    perf probe specs, workload scripts): each case is a valid corpus entry mutated by a seeded
//    generator (tokens deleted, repeated, swapped and spliced between entries; characters, numbers,
//    lengths, nesting and unicode changed). A campaign is a target of the same harness.
// Case N is the same input on every machine. The default run takes a sample (the first 3,000 text
// cases); KTRACE_LONG=1 runs 100,000 of the same.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export { isMainThread };
export const LONG = process.env.KTRACE_LONG === '1';

/** xorshift32: deterministic across runs and machines. */
function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
}

/** The text mutator's generator for case `seed` (the seed spread over 32 bits; two outputs dropped). */
export function rng(seed: number): (n: number) => number {
  const next = xorshift32((seed * 2654435761) >>> 0);
  next(); next();
  return (n: number) => (n <= 1 ? 0 : next() % n);
}

/** The byte mutator's generator, seeded as given. */
export function byteRng(seed: number): (n: number) => number {
  const next = xorshift32(seed);
  return (n: number) => next() % n;
}

/** A seeded mutation: bit flips, random or boundary bytes, 4- and 8-byte fields set to extremes, truncation. */
export function mutateBytes(src: Uint8Array, rand: (n: number) => number, hot?: readonly (readonly [number, number])[]): Uint8Array {
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

export interface FuzzReport { cases: number; results: number; errors: number; hangs: string[]; failures: string[]; ms: number }

export interface FuzzTarget {
  /** Runs case i (deterministic in i): returns normally for a result, or throws. */
  run(i: number): void;
  /** Is this exception a one-line user error the CLI prints as is (ElfError, DwarfError, DebugInfoError, CliError)? */
  expected(e: unknown): boolean;
}

interface Assignment { name?: string; from: number; to: number; counter: SharedArrayBuffer }

/**
 * Worker side: call from the test file at top level. Runs the assigned cases and returns true in the
 * worker started for `name` (or for the file, without a name); returns false anywhere else.
 */
export function serveFuzz(target: () => FuzzTarget, name?: string): boolean {
  if (isMainThread || (workerData as Assignment)?.name !== name) return false;
  const { from, to, counter } = workerData as Assignment;
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
  return true;
}

/** Main side: runs cases [0, n) of the test file `file` (its import.meta.url), each within timeoutMs. */
export async function fuzz(file: string | URL, n: number, timeoutMs: number, name?: string): Promise<FuzzReport> {
  const started = Date.now();
  const report: FuzzReport = { cases: n, results: 0, errors: 0, hangs: [], failures: [], ms: 0 };
  let from = 0;
  while (from < n) {
    const counter = new SharedArrayBuffer(16), done = new Int32Array(counter);
    Atomics.store(done, 0, from);
    const assignment: Assignment = { name, from, to: n, counter };
    const w = new Worker(new URL(file), { workerData: assignment, stdout: true, stderr: true });
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

const TOKEN = /\s+|[A-Za-z_][A-Za-z0-9_]*|0x[0-9a-fA-F]+|[0-9]+|[^\sA-Za-z0-9_]/gu;
export function tokens(s: string): string[] { return s.match(TOKEN) ?? []; }

const CHARS = ['\0', '\n', '\r', '\t', ' ', '%', '$', '+', '-', ':', '@', '(', ')', '[', ']', '{', '}', '"', "'", '\\', '=',
  ',', ';', '#', '/', '.', '*', '>', '<', '!', '~', '^', '&', '|', '?', '`', 'é', 'ß', '\u00a0', '\u202e', '\u200b',
  '\ufeff', '😀', '\ud800', '\udfff', '\x7f', '\x1b', '\x01', '\u2028', '\uffff', '𝕏'];
const NUMBERS = ['0', '-0', '1', '-1', '2', '7', '8', '15', '16', '31', '32', '63', '64', '65', '127', '128', '129', '255', '256',
  '1023', '1024', '4095', '4096', '4097', '65535', '65536', '2147483647', '2147483648', '-2147483648', '4294967295', '4294967296',
  '9007199254740991', '9007199254740993', '9223372036854775807', '9223372036854775808', '18446744073709551615',
  '18446744073709551616', '99999999999999999999999999999', '0x', '0x0', '0xffffffff', '0xffffffffffffffff',
  '0x10000000000000000', '0xffffffff81000000', '1e9', '1_000', '00', '0777', '10000000', '10000001'];

/** Inputs grow (lengths, nesting) only while shorter than this: cases stay milliseconds long. */
const MAX_GROW = 20_000;

export interface Mutator {
  /** Wrap text in one more level of the grammar's nesting (`repeat 1 { ... }`, `+0(...)`): linear time. */
  nest?: (s: string, rand: (n: number) => number) => string;
  /** Extra tokens of the grammar (keywords, register names, types). */
  dict?: readonly string[];
}

/** Case `seed`'s input: a corpus entry with 1 to 4 stacked mutations. */
export function mutate(corpus: readonly string[], seed: number, m: Mutator = {}): string {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
  const dict = [...new Set([...corpus.flatMap(tokens), ...(m.dict ?? [])])];
  let s = pick(corpus);
  const rounds = 1 + rand(4);
  for (let r = 0; r < rounds; r++) {
    const t = tokens(s);
    const at = rand(t.length + 1);
    switch (rand(14)) {
      case 0: t.splice(at, 1); break; // delete a token
      case 1: t.splice(at, 0, t[at] ?? pick(dict)); break; // duplicate
      case 2: { const b = rand(t.length); [t[at], t[b]] = [t[b]!, t[at]!]; break; } // swap
      case 3: t[at] = pick(dict); break; // replace from the dictionary
      case 4: t.splice(at, 0, pick(dict)); break; // insert
      case 5: { // a character changed, inserted or removed
        const i = rand(s.length + 1), c = pick(CHARS);
        s = rand(3) === 0 ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + c + s.slice(i + (rand(2)));
        continue;
      }
      case 6: { // a number replaced by an edge value
        const nums = t.map((x, i) => (/^(0x)?[0-9]/.test(x) ? i : -1)).filter((i) => i >= 0);
        const i = nums.length ? pick(nums) : at;
        t[i] = pick(NUMBERS);
        break;
      }
      case 7: { // a token repeated many times (lengths)
        if (s.length > MAX_GROW) continue;
        const n = [2, 3, 10, 64, 65, 128, 129, 1000, 5000][rand(9)]!;
        t.splice(at, 1, (t[at] ?? 'a').repeat(n));
        break;
      }
      case 8: { // nesting
        if (s.length > MAX_GROW) continue;
        let v = s;
        const n = [1, 2, 8, 63, 64, 65, 200, 2000][rand(8)]!;
        if (m.nest) for (let i = 0; i < n; i++) v = m.nest(v, rand);
        else v = '('.repeat(n) + v + ')'.repeat(n);
        s = v;
        continue;
      }
      case 9: { // crossover with another entry
        const o = pick(corpus);
        s = s.slice(0, rand(s.length + 1)) + o.slice(rand(o.length + 1));
        continue;
      }
      case 10: s = s.slice(0, rand(s.length + 1)); continue; // truncate
      case 11: { // a random code point
        const cp = rand(4) === 0 ? rand(0x110000) : rand(0x300);
        const c = cp >= 0xd800 && cp < 0xe000 ? String.fromCharCode(cp) : String.fromCodePoint(cp);
        const i = rand(s.length + 1);
        s = s.slice(0, i) + c + s.slice(i);
        continue;
      }
      case 12: { // a byte flipped
        const i = rand(s.length);
        if (s.length) s = s.slice(0, i) + String.fromCharCode(s.charCodeAt(i) ^ (1 << rand(8))) + s.slice(i + 1);
        continue;
      }
      default: { // whitespace changed
        const ws = t.map((x, i) => (/^\s+$/.test(x) ? i : -1)).filter((i) => i >= 0);
        if (ws.length) t[pick(ws)] = pick(['', '  ', '\t', '\n', ' \n ', ';']);
        break;
      }
    }
    s = t.join('');
  }
  return s;
}

export interface Campaign {
  name: string;
  corpus: readonly string[];
  mutator?: Mutator;
  /** Checks one input: throws when the target breaks a rule (an exception escaping it is a failure too). */
  check(input: string): void;
}

export interface CampaignResult { cases: number; failures: string[]; hangs: number }

/** Cases of the default run and of KTRACE_LONG=1. */
export const CASES = LONG ? 100_000 : 3_000;
/** A case taking longer than this is a hang (generous: CI runs test files side by side on two cores). */
const CASE_MS = 10_000;

/** Why a campaign's case failed, with its input (the harness reports the stack). */
class CaseFailure extends Error {
  constructor(input: string, cause: unknown) {
    const err = cause as Error;
    super(`${err?.name ?? 'Error'}: ${err?.message ?? String(cause)}`);
    this.stack = `input ${JSON.stringify(input.length > 400 ? input.slice(0, 400) + '...' : input)}\n    ${err?.name ?? 'Error'}: ${err?.message ?? String(cause)}\n${(err?.stack ?? '').split('\n').slice(1, 6).join('\n')}`;
  }
}

/**
 * Runs cases [0, cases) of the campaign defined by `moduleUrl` (a module that, imported in a worker,
 * calls serveCampaign with the same campaign) in the harness.
 */
export async function runCampaign(moduleUrl: string, c: Campaign, cases = CASES, timeoutMs = CASE_MS): Promise<CampaignResult> {
  const r = await fuzz(moduleUrl, cases, timeoutMs, c.name);
  const hangs = r.hangs.map((h) => `${h} (a hang): input ${JSON.stringify(mutate(c.corpus, Number(/^case (\d+)/.exec(h)![1]), c.mutator))}`);
  return { cases, failures: [...hangs, ...r.failures], hangs: r.hangs.length };
}

/** In a campaign's worker: run the assigned cases. Returns false on the main thread (nothing to do). */
export function serveCampaign(c: Campaign): boolean {
  return serveFuzz(() => ({
    run(seed) {
      const input = mutate(c.corpus, seed, c.mutator);
      try { c.check(input); } catch (e) { throw new CaseFailure(input, e); }
    },
    expected: () => false,
  }), c.name);
}

/** The report of a campaign: figures, and each failure with its case and input (JSON-quoted), hangs first. */
export function describe(r: CampaignResult): string {
  return [`${r.cases} cases, ${r.failures.length} failures (${r.hangs} hangs)`, ...r.failures.slice(0, 20).map((f) => '  ' + f.replace(/\n/g, '\n    '))].join('\n');
}

/** Rules for an error a user sees: its first line is the message, and no line hides a control character. */
export function assertShowable(text: string, maxLines: number): void {
  const lines = text.replace(/\n$/, '').split('\n');
  if (lines.length > maxLines) throw new Error(`error has ${lines.length} lines (at most ${maxLines}): ${JSON.stringify(text.slice(0, 300))}`);
  if (!lines[0]!.trim()) throw new Error(`error's first line is empty: ${JSON.stringify(text.slice(0, 300))}`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u.test(text)) throw new Error(`error holds a control character: ${JSON.stringify(text.slice(0, 300))}`);
}
