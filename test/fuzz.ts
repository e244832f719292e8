// Structure-aware fuzzing of text parsers (kprobe_events lines, perf probe specs, workload scripts):
// each case is a valid corpus entry mutated by a seeded generator (tokens deleted, repeated, swapped
// and spliced between entries; characters, numbers, lengths, nesting and unicode changed), so case N
// is the same input on every machine. A campaign runs in a worker thread under a watchdog: a case that
// throws, breaks the target's own rules or runs past its time bound is reported with its seed and
// input, and the campaign goes on. The default run takes a sample (the first 3,000 cases);
// KTRACE_LONG=1 runs 100,000 of the same.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

export const LONG = process.env.KTRACE_LONG === '1';

/** xorshift32: deterministic across runs and machines. */
export function rng(seed: number): (n: number) => number {
  let x = (seed * 2654435761) >>> 0 || 1;
  const next = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  next(); next();
  return (n: number) => (n <= 1 ? 0 : next() % n);
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

export interface CampaignResult { cases: number; failures: { seed: number; input: string; error: string }[]; hangs: number }

/** Cases of the default run and of KTRACE_LONG=1. */
export const CASES = LONG ? 100_000 : 3_000;
/** A case taking longer than this is a hang (generous: CI runs test files side by side on two cores). */
const CASE_MS = 10_000;

/**
 * Runs cases [0, cases) of the campaign defined by `moduleUrl` (a module that, imported in a worker,
 * calls serveCampaign with the same campaign) under a watchdog.
 */
export async function runCampaign(moduleUrl: string, c: Campaign, cases = CASES): Promise<CampaignResult> {
  const failures: CampaignResult['failures'] = [];
  let hangs = 0;
  let from = 0;
  while (from < cases) {
    const progress = new Int32Array(new SharedArrayBuffer(8));
    progress[0] = from;
    const w = new Worker(fileURLToPath(moduleUrl), { workerData: { fuzz: c.name, from, to: cases, progress } });
    const next = await new Promise<number>((resolve, reject) => {
      let last = -1, since = Date.now();
      const timer = setInterval(() => {
        const cur = Atomics.load(progress, 0);
        if (cur !== last) { last = cur; since = Date.now(); return; }
        if (Date.now() - since > CASE_MS) {
          clearInterval(timer);
          hangs++;
          failures.push({ seed: cur, input: mutate(c.corpus, cur, c.mutator), error: `no answer within ${CASE_MS} ms (a hang)` });
          void w.terminate();
          resolve(cur + 1);
        }
      }, 100);
      w.on('message', (m: { failure?: CampaignResult['failures'][number]; done?: boolean }) => {
        if (m.failure) failures.push(m.failure);
        if (m.done) { clearInterval(timer); resolve(cases); }
      });
      w.on('error', (e) => { clearInterval(timer); reject(e); });
    });
    await w.terminate();
    from = next;
  }
  return { cases, failures, hangs };
}

/** In a campaign's worker: run the assigned cases. Returns false on the main thread (nothing to do). */
export function serveCampaign(c: Campaign): boolean {
  if (isMainThread || (workerData as { fuzz?: string })?.fuzz !== c.name) return false;
  const { from, to, progress } = workerData as { from: number; to: number; progress: Int32Array };
  for (let seed = from; seed < to; seed++) {
    Atomics.store(progress, 0, seed);
    const input = mutate(c.corpus, seed, c.mutator);
    try {
      c.check(input);
    } catch (e) {
      const err = e as Error;
      parentPort!.postMessage({ failure: { seed, input, error: `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}\n${(err?.stack ?? '').split('\n').slice(1, 6).join('\n')}` } });
    }
  }
  parentPort!.postMessage({ done: true });
  return true;
}

/** The report of a campaign: figures, and each failure with its seed and input (JSON-quoted). */
export function describe(r: CampaignResult): string {
  const lines = [`${r.cases} cases, ${r.failures.length} failures (${r.hangs} hangs)`];
  const hangsFirst = [...r.failures].sort((a, b) => Number(b.error.includes('(a hang)')) - Number(a.error.includes('(a hang)')));
  for (const f of hangsFirst.slice(0, 20)) lines.push(`  seed ${f.seed}: input ${JSON.stringify(f.input.length > 400 ? f.input.slice(0, 400) + '...' : f.input)}\n    ${f.error.replace(/\n/g, '\n    ')}`);
  return lines.join('\n');
}

/** Rules for an error a user sees: its first line is the message, and no line hides a control character. */
export function assertShowable(text: string, maxLines: number): void {
  const lines = text.replace(/\n$/, '').split('\n');
  if (lines.length > maxLines) throw new Error(`error has ${lines.length} lines (at most ${maxLines}): ${JSON.stringify(text.slice(0, 300))}`);
  if (!lines[0]!.trim()) throw new Error(`error's first line is empty: ${JSON.stringify(text.slice(0, 300))}`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u.test(text)) throw new Error(`error holds a control character: ${JSON.stringify(text.slice(0, 300))}`);
}
