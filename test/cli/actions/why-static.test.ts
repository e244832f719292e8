// why-static.ts against why.ts's machine path (the oracle: a fresh kernel with the probes registered
// through KprobeManager and the optimizer's worker run): the same rows and refusals for seeded groups of
// probes on the bundled kernel's functions: entries (ftrace sites), instruction boundaries, offsets inside
// instructions, neighbours close enough to share an optimized region, and a repeated probe.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { staticWhy, type StaticProbe } from '../../../src/cli/actions/why-static.js';
import type { WhyRow } from '../../../src/cli/actions/why.js';
import { loadTracing } from '../../../src/cli/tracing.js';
import { probePointsInListOrder } from '../../../src/kprobe/index.js';
import { whyNotOptimized } from '../../../src/kprobe/optimizer.js';
import { emptyTraceState } from '../../../src/trace/runtime/state.js';
import { hex16 } from '../../../src/base/addr.js';
import { fixtureImage } from '../../elf/fixture.js';

const LONG = process.env.KTRACE_LONG === '1';
const GROUPS = LONG ? 120 : 12;

/** why.ts's machine path for a group of probes. */
async function machineWhy(probes: readonly StaticProbe[]): Promise<{ rows: WhyRow[]; failed: string[] }> {
  const image = fixtureImage();
  const t = await loadTracing({ machine: true, image });
  const ms = t.machine(image, emptyTraceState(), 2);
  const failed: string[] = [];
  for (const g of probes) if (ms.mgr.registerKprobe({ ...g.p, preHandler: () => 0 }) !== 0) failed.push(`why: ${g.text}: ${ms.mgr.lastError.reason}`);
  ms.optimizer.runWorker(true);
  const rows = probePointsInListOrder(ms.mgr).map((pp): WhyRow => {
    const state = pp.optimized ? 'optimized' : pp.ftrace ? 'ftrace' : 'int3';
    const reason = state === 'int3' ? whyNotOptimized(ms.mgr, pp) : undefined;
    return { addr: hex16(pp.addr), at: image.formatAddr(pp.addr), state, ...(reason ? { reason } : {}) };
  });
  return { rows, failed };
}

test(`the image-only verdicts are the machine's, for ${GROUPS} seeded groups of probes on the bundled kernel`, async () => {
  const image = fixtureImage();
  const fns = image.functions.filter((f) => f.size > 0 && image.isText(f.addr));
  let seed = 0x2545f491;
  const rnd = (n: number) => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
  const states = new Set<string>();
  let compared = 0;
  for (let g = 0; g < GROUPS; g++) {
    const probes: StaticProbe[] = [];
    for (let k = 0; k < 3; k++) {
      const f = fns[rnd(fns.length)]!;
      // the entry, then offsets close together (regions of neighbours meet) and anywhere in the function
      const offs = [0, ...Array.from({ length: 4 }, () => rnd(Math.min(f.size, 24))), rnd(f.size)];
      for (const o of offs) probes.push({ text: `${f.name}+${o}`, p: { symbolName: f.name, offset: o } });
    }
    probes.push({ ...probes[1]! }); // the same probe twice: one probe point
    probes.push({ text: 'no_such_function', p: { symbolName: 'no_such_function', offset: 0 } });
    const want = await machineWhy(probes);
    const { rows, failed, resolved } = await staticWhy(image, probes, { textPatched: true, initFreed: false });
    assert.equal({ rows, failed }, want, probes.map((p) => p.text).join(' '));
    // each probe that has a row names its address
    for (const r of rows) assert.ok([...resolved.values()].includes(r.addr), r.at);
    for (const r of want.rows) states.add(r.state);
    compared += want.rows.length;
  }
  // the sample meets every verdict
  assert.equal([...states].sort(), ['ftrace', 'int3', 'optimized']);
  assert.ok(compared >= GROUPS * 4, `compared ${compared} probe points`);
});

test('a kernel that has booted has freed its __init text: a probe there is refused as not kernel text', async () => {
  const image = fixtureImage();
  const init = image.initRange;
  const f = init && image.functions.find((x) => x.addr >= init.start && x.addr < init.end && x.size > 0);
  if (!f) { console.log('SKIP no __init function in the bundled kernel'); return; }
  const p = [{ text: f.name, p: { symbolName: f.name, offset: 0 } }];
  const booted = await staticWhy(image, p, { textPatched: true });
  assert.equal(booted.rows, []);
  assert.match(booted.failed[0]!, /is not kernel text$/);
  assert.equal((await staticWhy(image, p, { textPatched: true, initFreed: false })).failed, []);
});

test.run();
