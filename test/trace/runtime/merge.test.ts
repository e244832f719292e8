// The streaming merge against the whole-run stable sort it replaces (byTraceTime), on seeded
// random per-CPU streams released at random watermarks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TraceMerger, clockWatermark } from '../../../src/trace/runtime/merge.js';
import { byTraceTime } from '../../../src/trace/runtime/probes.js';

const LONG = process.env.KTRACE_LONG === '1';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return s / 2 ** 32; };
}

interface Ev { cpu: number; ts: bigint; id: number }

/** CPUs running in quanta, as the machine does: each CPU's clock only goes forward. */
function simulate(seed: number, cpus: number, n: number, limit?: number) {
  const r = rng(seed);
  const clocks = Array.from({ length: cpus }, () => Math.floor(r() * 50));
  const all: Ev[] = [];
  const out: Ev[] = [];
  const m = new TraceMerger((cpu, b) => { const id = Number(b.toString()); out.push({ ...all[id]!, cpu }); }, limit);
  let id = 0;
  while (id < n) {
    for (let c = 0; c < cpus && id < n; c++) {
      const events = Math.floor(r() * 6);
      for (let k = 0; k < events && id < n; k++) {
        clocks[c] += Math.floor(r() * 3); // equal timestamps happen
        const e = { cpu: c, ts: BigInt(clocks[c]!), id: id++ };
        all.push(e);
        m.push(c, clocks[c]!, String(e.id));
      }
      clocks[c] += Math.floor(r() * 40);
    }
    if (r() < 0.3) m.flush(clockWatermark(clocks.map((c) => ({ online: true, clock: () => c }))));
  }
  m.flush();
  return { all, out, m };
}

test('the merged stream is the stable sort by (ts, cpu) of the whole run', () => {
  const cases = LONG ? 2000 : 100;
  for (let s = 1; s <= cases; s++) {
    const { all, out, m } = simulate(s, 1 + (s % 8), 200 + s * 3);
    const want = [...all].sort(byTraceTime).map((e) => e.id);
    assert.equal(out.map((e) => e.id), want, `seed ${s}`);
    assert.is(m.pending, 0);
    assert.is(m.forced, 0);
  }
});

test('the lookahead is bounded: past the limit the oldest held go, still in order among themselves', () => {
  const out: number[] = [];
  const m = new TraceMerger((_c, b) => out.push(Number(b.toString())), 100);
  // CPU 1 lags for good: nothing may be released by a watermark, only by the bound.
  for (let i = 0; i < 1000; i++) m.push(0, i, String(i));
  assert.ok(m.pending <= 100);
  assert.ok(m.forced >= 900);
  assert.equal(out, Array.from({ length: out.length }, (_, i) => i));
  for (let i = 0; i < 10; i++) { const { out: o, all } = simulate(i, 4, 3000, 64); assert.is(o.length, all.length); }
});

test('the watermark: the least clock of the running CPUs; none running releases everything', () => {
  assert.is(clockWatermark([{ online: true, clock: () => 7 }, { online: false, clock: () => 1 }, { online: true, clock: () => 9 }]), 7);
  assert.is(clockWatermark([{ online: false, clock: () => 1 }]), undefined);
  const out: number[] = [];
  const m = new TraceMerger((_c, b) => out.push(Number(b.toString())));
  m.push(1, 5, '5'); m.push(0, 7, '7'); m.push(0, 9, '9');
  // A CPU at clock 7 may still record an event at 7: only what is strictly earlier goes.
  m.flush(7);
  assert.equal(out, [5]);
  m.flush(undefined);
  assert.equal(out, [5, 7, 9]);
});

test.run();
