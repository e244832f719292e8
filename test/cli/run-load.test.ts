// Load: a hot probe over many instructions, its trace piped on. Memory stays bounded whatever the
// number of events (peak RSS under 200 MB), nothing is lost on the way (lines = the probe's hits
// in kprobe_profile), and a reader that wants one line gets it at once and ends the run
// (`| head -1`). The default run is a size-reduced sample (2e7 instructions, ~200,000 events);
// KTRACE_LONG=1 runs the size, 1e8 instructions (over a million events).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshState, ktrace, tempDir } from './run.js';
import { KTRACE_ARGV, start, within } from './spawn.js';

const LONG = process.env.KTRACE_LONG === '1';
const INSNS = LONG ? 100_000_000 : 20_000_000;
const MAX_RSS_KB = 200 * 1024;
const HOT = join(tempDir('ktrace-load-'), 'hot.wl');
writeFileSync(HOT, 'repeat 10000000 { getpid }\n');
/** How long the hot run of the first test took (whole, every event read): a reader of one line must
 *  not wait that long for it, as it would if lines were held until the (ten times longer) run's end. */
let hotMs = 0;
const run = (insns: number) => [...KTRACE_ARGV.slice(1), 'run', HOT, '--max-insns', String(insns)];

test(`a hot probe over ${INSNS.toExponential()} instructions piped on: every hit is a line, peak RSS under 200 MB`, async () => {
  const env = { KTRACE_STATE: freshState() };
  assert.is(ktrace(['add', 'do_syscall_64'], env).code, 0);
  assert.is(ktrace(['enable', 'probe:do_syscall_64'], env).code, 0);
  const l = start(KTRACE_ARGV[0]!, run(INSNS), env, false);
  let lines = 0, bytes = 0;
  l.child.stdout!.on('data', (d: string) => { bytes += d.length; for (let i = d.indexOf('\n'); i >= 0; i = d.indexOf('\n', i + 1)) lines++; });
  const r = await within(l.done, LONG ? 1_800_000 : 600_000, l.child, 'the hot run');
  assert.is(r.code, 1); // the budget ends it
  hotMs = r.ms;
  assert.match(l.stderr, /^ktrace: run: instruction budget exhausted/);
  const hits = Number(/ +(\d+) +0\n$/.exec(ktrace(['fs', 'cat', 'kprobe_profile'], env).stdout)![1]);
  assert.ok(hits > INSNS / 200, `${hits} hits`);
  assert.is(lines, hits, 'one line per hit');
  console.log(`\nNOTE load: ${lines} lines, ${(bytes / 1e6).toFixed(0)} MB, peak RSS ${(l.peakKb / 1024).toFixed(0)} MB, ${(r.ms / 1000).toFixed(1)} s`);
  assert.ok(l.peakKb > 0 && l.peakKb < MAX_RSS_KB, `peak RSS ${l.peakKb} kB`);
  // The state's trace is a ring buffer: all of it written, the newest kept, bounded.
  const head = /entries-in-buffer\/entries-written: (\d+)\/(\d+) /.exec(ktrace(['fs', 'cat', 'trace'], env).stdout)!;
  assert.is(Number(head[2]), hits);
  assert.ok(Number(head[1]) < hits && Number(head[1]) > 1000, head[0]);
});

test('| head -1: the first line comes at once, and the reader going away ends the run quietly', async () => {
  const env = { KTRACE_STATE: freshState() };
  // What startup, boot and the first events cost on this machine now (it may be loaded).
  const base = start(KTRACE_ARGV[0]!, [...run(300_000), '-a', 'do_syscall_64'], env, false);
  const b = await within(base.done, 300_000, base.child, 'the short run');
  const l = start(KTRACE_ARGV[0]!, [...run(INSNS * 10), '-a', 'do_syscall_64'], env, false);
  const first = await new Promise<number>((resolve) => {
    let got = '';
    l.child.stdout!.on('data', (d: string) => {
      got += d;
      if (got.includes('\n')) { l.child.stdout!.destroy(); resolve(Date.now() - l.started); }
    });
  });
  const r = await within(l.done, 60_000, l.child, 'ktrace run after its reader went away');
  console.log(`\nNOTE head -1: first line after ${first} ms (a whole 3e5-instruction run: ${b.ms} ms), exit after ${r.ms} ms`);
  // bounded by this machine's own pace now (it may be loaded): a short whole run twice, or the hot run
  assert.ok(first <= Math.max(b.ms * 2 + 2000, hotMs), `first line after ${first} ms (a whole 3e5-instruction run: ${b.ms} ms, the ${INSNS.toExponential()} hot run: ${hotMs} ms)`);
  assert.is(r.code, 0);
  assert.is(l.stderr, '');
});

test.run();
