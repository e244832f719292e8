// `ktrace run` on real terminals and under signals: no progress display can block a run (a
// terminal 0 columns wide, as some CI and container terminals report), SIGINT and SIGTERM always
// end it, and what was gathered is still printed. Terminals come from `script` (util-linux).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { freshState, tempDir } from './run.js';
import { KTRACE_ARGV, start, sleep, within, type Live } from './spawn.js';

const hasScript = spawnSync('script', ['--version']).status === 0;
const sh = (argv: string[]) => argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
const dir = tempDir('ktrace-signals-');
const HOT = join(dir, 'hot.wl');
writeFileSync(HOT, 'repeat 10000000 { getpid }\n');

async function until(l: Live, cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  let exited = false;
  void l.done.then(() => { exited = true; });
  while (!cond()) {
    if (exited) throw new Error(`${what}: the process ended first: ${l.stderr}${l.stdout.slice(-500)}`);
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

test('a terminal 0 columns wide: no progress display, and the run ends as usual', async () => {
  if (!hasScript) { console.log('SKIP script (util-linux) missing: the 0-column terminal test needs it'); return; }
  const l = start('script', ['-qec', `stty cols 0 rows 0; ${sh([...KTRACE_ARGV, 'run', '--no-timing'])}`, '/dev/null'], { KTRACE_STATE: freshState() });
  // Before the fix the spinner wrote escape codes forever (23 MB in 20 s) and ignored signals.
  const r = await within(l.done, 180_000, l.child, 'ktrace run on a 0-column terminal');
  assert.is(r.code, 0, l.stdout.slice(0, 2000));
  assert.ok(l.stdout.length < 20_000, `${l.stdout.length} bytes of output`);
  assert.match(l.stdout, /ended: power off, status 0/);
  assert.not.match(l.stdout, /\x1b\[/, 'no escape codes: no progress display');
});

test('on a terminal, SIGINT and SIGTERM end a long run and the summary of what was gathered is printed', async () => {
  if (!hasScript) { console.log('SKIP script (util-linux) missing: the terminal signal test needs it'); return; }
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const pidFile = join(dir, `pid-${sig}`);
    const cmd = `stty cols 80 rows 24; echo $$ > ${pidFile}; exec ${sh([...KTRACE_ARGV, 'run', HOT, '--max-insns', '2000000000', '--no-timing'])}`;
    const l = start('script', ['-qec', cmd, '/dev/null'], { KTRACE_STATE: freshState() });
    // The progress line shows once the run is going (its handlers are in place by then).
    await until(l, () => / instructions, \d+ system calls/.test(l.stdout), 120_000, 'progress line');
    await until(l, () => existsSync(pidFile), 5000, 'pid file');
    process.kill(Number(readFileSync(pidFile, 'utf8')), sig);
    const r = await within(l.done, 60_000, l.child, `ktrace run after ${sig}`);
    assert.is(r.code, 1, sig);
    assert.match(l.stdout, /ended: interrupted/, sig);
    assert.match(l.stdout, /\nSYSCALL +CALLS +RESULTS\r?\ngetpid +[1-9]/, sig);
  }
});

test('piped: SIGTERM ends the run; the trace lines gathered are out, whole, and stderr says why', async () => {
  const l = start(KTRACE_ARGV[0]!, [...KTRACE_ARGV.slice(1), 'run', HOT, '-a', 'do_syscall_64', '--max-insns', '2000000000'], { KTRACE_STATE: freshState() });
  await until(l, () => l.stdout.split('\n').length > 100, 120_000, 'trace lines');
  l.child.kill('SIGTERM');
  const r = await within(l.done, 60_000, l.child, 'ktrace run after SIGTERM');
  assert.is(r.code, 1);
  assert.is(l.stderr, 'ktrace: run: interrupted\n');
  assert.ok(l.stdout.endsWith('\n'));
  const ts = l.stdout.trimEnd().split('\n').map((x) => {
    // do_syscall_64 is entered with interrupts still off; its fentry probe takes the ftrace path (d..1.)
    const m = /^ +\S+-\d+ +\[(\d{3})\] d\.\.1\. +(\d+)\.(\d{6}): do_syscall_64: \(do_syscall_64\+0x0\/0x[0-9a-f]+\)$/.exec(x);
    assert.ok(m, x);
    return Number(m![2]) * 1e6 + Number(m![3]);
  });
  for (let i = 1; i < ts.length; i++) assert.ok(ts[i - 1]! <= ts[i]!, `time order at line ${i}`);
});

test('--output FILE and SIGTERM: FILE is whole (every event, then the summary of the interrupted run); no temporary file is left', async () => {
  const out = join(tempDir('ktrace-sig-out-'), 'run.ndjson');
  const l = start(KTRACE_ARGV[0]!, [...KTRACE_ARGV.slice(1), 'run', HOT, '-a', '__x64_sys_getpid', '--max-insns', '2000000000', '-o', out], { KTRACE_STATE: freshState() });
  const tmp = () => readdirSync(dirname(out)).find((n) => n.includes('.tmp-'));
  await until(l, () => { const t = tmp(); return t !== undefined && statSync(join(dirname(out), t)).size > 100_000; }, 120_000, 'events written');
  assert.not.ok(existsSync(out), 'FILE appears only when the run is over');
  l.child.kill('SIGTERM');
  const r = await within(l.done, 60_000, l.child, 'ktrace run -o after SIGTERM');
  assert.is(r.code, 1);
  const lines = readFileSync(out, 'utf8').trimEnd().split('\n').map((x) => JSON.parse(x));
  const sum = lines.pop();
  assert.is(sum.type, 'summary');
  assert.is(sum.end.kind, 'interrupted');
  assert.ok(lines.length > 1000 && lines.every((e) => e.type === 'event' && e.event === 'probe:__x64_sys_getpid'));
  assert.is(lines.length, sum.probes[0].hits, 'every hit is in the file');
  assert.is(tmp(), undefined);
});

test.run();
