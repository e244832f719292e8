// Fuzzing state.json (issue 14): mutated state files (structural: wrong types, missing and extra
// fields, edited kprobe_events lines; and byte-level: flips, truncation) under every command that
// reads or writes the state. Each case must end in a result or a one-line error (no internal error,
// no hang: a case over CASE_LIMIT_MS ends the test), must never overwrite a state file it could not
// use, and must leave a valid file when it writes one. Default: a seeded sample of 1,000 cases
// (and 5 that boot the kernel); KTRACE_LONG=1: 100,000 (and 500). KTRACE_FUZZ_SEED picks another sample; a failure prints the
// case's input and command.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FIXTURE } from '../../elf/fixture.js';
import { ktrace, freshState, tempDir } from '../run.js';
import type { FuzzJob, FuzzMsg } from './fuzz-worker.js';

const LONG = process.env.KTRACE_LONG === '1';
const CASES = Number(process.env.KTRACE_FUZZ_CASES || (LONG ? 100_000 : 1_000));
const SEED = Number(process.env.KTRACE_FUZZ_SEED || 14);
const CASE_LIMIT_MS = 20_000;
const WORKER = join(dirname(fileURLToPath(import.meta.url)), 'fuzz-worker.js');

/** Commands that read or write the state; `run` and the debugfs views boot the kernel (slower), so fewer. */
const COMMANDS: string[][] = [
  ['list'], ['list', '--json'], ['fs', 'cat', 'kprobe_events'], ['fs', 'cat', 'kprobe_profile'], ['fs', 'cat', 'trace'],
  ['fs', 'cat', 'error_log'], ['fs', 'cat', 'events/enable'], ['fs', 'cat', 'events/probe/vfs_read/enable'], ['fs', 'ls', 'events/probe'],
  ['enable', 'probe:*'], ['disable', '*'], ['add', 'fz=vfs_read'], ['add', 'p:kprobes/fz2 vfs_read+4 %di'], ['add', 'vfs_read count'],
  ['del', 'probe:*'], ['del', '-a'], ['fs', 'write', 'kprobe_events', 'p:fz3 vfs_read'], ['fs', 'write', 'kprobe_events', '--', '-:probe/vfs_read'],
  ['fs', 'write', '--truncate', 'error_log', ''], ['fs', 'write', 'events/probe/vfs_read/enable', '1'], ['fs', 'write', 'kprobe_events', 'p:bad nosuchfn'],
];
const SLOW: string[][] = [['run', '--summary'], ['fs', 'cat', '/sys/kernel/debug/kprobes/list'], ['fs', 'write', '/proc/sys/debug/kprobes-optimization', '0']];

/** Valid state files to mutate, made by the CLI itself: events, enable flags, counters, a trace buffer, error_log. */
function seeds(): string[] {
  const out: string[] = [];
  const s = freshState();
  const env = { KTRACE_STATE: s };
  const step = (args: string[]) => { ktrace(args, env); out.push(readFileSync(join(s, 'state.json'), 'utf8')); };
  step(['add', 'vfs_read']);
  step(['add', 'r:myret ksys_read $retval']);
  step(['add', 'ksys_read fd=%di count=%dx:u64']);
  step(['enable', 'probe:vfs_read']);
  step(['fs', 'write', 'kprobe_events', 'p:bad nosuchfn']);
  step(['run', '--summary']);
  return out;
}

interface Tally { cases: number; succeeded: number; failures: string[]; hangs: number; maxMs: number; totalMs: number }

function fuzz(job: FuzzJob): Promise<Tally> {
  const t: Tally = { cases: 0, succeeded: 0, failures: [], hangs: 0, maxMs: 0, totalMs: 0 };
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData: job, stdout: true, stderr: true });
    let current: Extract<FuzzMsg, { type: 'start' }> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const dump = (c: typeof current, why: string) => {
      const f = join(tempDir('ktrace-fuzz-fail-'), 'state.json');
      if (c) writeFileSync(f, c.input, 'latin1');
      return `case ${c?.i} (ktrace ${c?.command.join(' ')}; KTRACE_FUZZ_SEED=${job.rngSeed}): ${why}\n  input: ${c?.input.slice(0, 400)}`;
    };
    w.on('message', (m: FuzzMsg) => {
      if (m.type === 'start') {
        current = m;
        clearTimeout(timer);
        timer = setTimeout(() => { t.hangs++; t.failures.push(dump(current, `no verdict after ${CASE_LIMIT_MS} ms (hang)`)); void w.terminate(); }, CASE_LIMIT_MS);
      } else if (m.type === 'done') {
        clearTimeout(timer);
        t.cases++;
        if (m.code === 0) t.succeeded++;
        t.totalMs += m.ms;
        t.maxMs = Math.max(t.maxMs, m.ms);
        if (m.problem && t.failures.length < 20) t.failures.push(dump(current, m.problem));
      } else {
        clearTimeout(timer);
        void w.terminate();
      }
    });
    w.on('error', (e) => { clearTimeout(timer); t.failures.push(dump(current, `worker died: ${e.stack}`)); resolve(t); });
    w.on('exit', () => { clearTimeout(timer); resolve(t); });
    void reject;
  });
}

test(`state.json fuzz: ${CASES} mutated files under ${COMMANDS.length} commands, plus ${Math.ceil(CASES / 200)} under run and the debugfs views`, async () => {
  const seedFiles = seeds();
  const t0 = Date.now();
  const nSlow = Math.ceil(CASES / 200);
  // The long run on both cores: two workers, each a contiguous range of case numbers.
  const half = LONG ? Math.floor(CASES / 2) : CASES;
  const runs = await Promise.all([
    fuzz({ seeds: seedFiles, first: 0, count: half, rngSeed: SEED, vmlinux: FIXTURE, commands: COMMANDS }),
    ...(half < CASES ? [fuzz({ seeds: seedFiles, first: half, count: CASES - half, rngSeed: SEED, vmlinux: FIXTURE, commands: COMMANDS })] : []),
  ]);
  runs.push(await fuzz({ seeds: seedFiles, first: CASES, count: nSlow, rngSeed: SEED, vmlinux: FIXTURE, commands: SLOW }));
  const all = runs.flatMap((r) => r.failures);
  const cases = runs.reduce((n, r) => n + r.cases, 0);
  const ok = runs.reduce((n, r) => n + r.succeeded, 0);
  console.log(`NOTE state.json fuzz: ${cases} cases (${runs.at(-1)!.cases} booting the kernel; ${ok} ran, ${cases - ok} one-line errors), ${all.length} failures,`
    + ` ${runs.reduce((n, r) => n + r.hangs, 0)} hangs, slowest case ${Math.max(...runs.map((r) => r.maxMs)).toFixed(0)} ms, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.is(all.length, 0, all.join('\n'));
  assert.is(cases, CASES + nSlow);
});

test.run();
