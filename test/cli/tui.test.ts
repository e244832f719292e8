// `ktrace tui` as a user runs it: refused off a terminal; in a real terminal (tmux), a probe's hits
// appear once it is enabled, stop once it is disabled, and q quits with the terminal restored.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ktrace, freshState, tempDir, MAIN } from './run.js';
import { FIXTURE } from '../elf/fixture.js';

test('refuses with one line pointing to ktrace run when stdout is not a terminal', () => {
  const r = ktrace(['tui']);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.is(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /tui: needs a terminal.*`ktrace run`/);
});

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const sock = `ktrace-tui-test-${process.pid}`;
const tmux = (...a: string[]) => spawnSync('tmux', ['-L', sock, ...a], { encoding: 'utf8' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Start the session; a server killed by the previous test may still be exiting: wait and retry. */
async function newSession(cmd: string): Promise<void> {
  let r = tmux('new-session', '-d', '-s', 't', '-x', '80', '-y', '24', cmd);
  for (let i = 0; i < 20 && r.status !== 0; i++) {
    await sleep(250);
    tmux('kill-server');
    r = tmux('new-session', '-d', '-s', 't', '-x', '80', '-y', '24', cmd);
  }
  assert.is(r.status, 0, `tmux new-session: ${r.stderr}`);
}
const pane = () => tmux('capture-pane', '-p', '-t', 't').stdout;
/** Waits until the pane matches (the emulator and screen run on their own schedule). */
async function waitFor(re: RegExp, ms = 20_000): Promise<string> {
  const end = Date.now() + ms;
  let p = '';
  while (Date.now() < end) {
    p = pane();
    if (re.test(p)) return p;
    await sleep(100);
  }
  assert.unreachable(`pane never matched ${re}:\n${p}`);
  return p;
}
/**
 * Waits until a number read off the pane exceeds `from`. A fixed window is not enough: on a loaded
 * machine (CI runs test files side by side on two cores) the emulator can go 600 ms without a hit.
 */
async function waitForGrowth(read: (p: string) => number, from: number, what: string, ms = 20_000): Promise<string> {
  const end = Date.now() + ms;
  let p = pane();
  while (Date.now() < end) {
    p = pane();
    if (read(p) > from) return p;
    await sleep(100);
  }
  assert.unreachable(`${what} stayed at ${from} for ${ms} ms:\n${p}`);
  return p;
}
const vfsRow = (p: string) => p.split('\n').find((l) => l.includes('probe:vfs_read')) ?? '';
const hitsOf = (row: string) => Number(/\s([\d,]+)\s+(\d+)\s+│\s*$/.exec(row)?.[1]?.replace(/,/g, '') ?? NaN);

test('in tmux: add a probe (Tab completion) and see hits, disable it and see none, enable it again, kprobes/enabled 0 stops it, delete it, q restores the terminal', async () => {
  if (!hasTmux) { console.log('SKIP tmux missing: the end-to-end ktrace tui test needs it'); return; }
  const state = freshState();
  const cmd = `NO_COLOR=1 KTRACE_STATE=${state} ${process.execPath} ${MAIN} -k ${FIXTURE} tui; echo TUI-EXIT=$?; stty -a | grep -o -- '-\\?icanon' | head -1; sleep 60`;
  await newSession(cmd);
  const restart = async () => {
    tmux('send-keys', '-t', 't', 'r');
    return waitFor(/finished \(poweroff 0\)[\s\S]*restarted default/);
  };
  try {
    let p = await waitFor(/finished \(poweroff 0\)/);
    assert.ok(p.includes('no probe events defined'));
    // a, the symbol with Tab completion, Enter: added and enabled (as `ktrace add` + `ktrace enable`).
    tmux('send-keys', '-t', 't', 'a');
    await waitFor(/add probe: _/);
    tmux('send-keys', '-t', 't', '-l', 'vfs_rea');
    tmux('send-keys', '-t', 't', 'Tab');
    await waitFor(/add probe: vfs_read _/);
    tmux('send-keys', '-t', 't', 'Enter');
    await waitFor(/added probe:vfs_read/);
    p = await restart();
    const hits = hitsOf(vfsRow(p));
    assert.ok(hits > 0, vfsRow(p));
    // vfs_read+0 is an fentry site: its kprobe rides ftrace, as kprobes/list tags it.
    assert.match(vfsRow(p), /probe:vfs_read\s+p vfs_read\+0x0\s+\[FTRACE\]/);
    let s = JSON.parse(readFileSync(join(state, 'state.json'), 'utf8'));
    assert.is(s.kprobeEvents, 'p:probe/vfs_read vfs_read\n');
    assert.equal(s.enabled, ['probe/vfs_read']);
    tmux('send-keys', '-t', 't', 'd');
    await waitFor(/disabled probe:vfs_read/);
    p = await restart();
    assert.is(hitsOf(vfsRow(p)), 0, vfsRow(p));
    // The disabled event's kprobe is registered disabled (trace_kprobe): kprobes/list says [DISABLED].
    assert.match(vfsRow(p), /\[DISABLED\]\[FTRACE\]/, vfsRow(p));
    s = JSON.parse(readFileSync(join(state, 'state.json'), 'utf8'));
    assert.equal(s.enabled, []);
    tmux('send-keys', '-t', 't', 'e');
    await waitFor(/enabled probe:vfs_read/);
    p = await restart();
    // Same workload, same seed: the same hits again.
    assert.is(hitsOf(vfsRow(p)), hits, vfsRow(p));
    // k: kprobes/enabled 0 disarms every probe; the event stays enabled but sees nothing.
    tmux('send-keys', '-t', 't', 'k');
    await waitFor(/kprobes\/enabled 0/);
    p = await restart();
    assert.is(hitsOf(vfsRow(p)), 0, vfsRow(p));
    assert.not.ok(vfsRow(p).includes('[OFF]'));
    s = JSON.parse(readFileSync(join(state, 'state.json'), 'utf8'));
    assert.is(s.kprobesEnabled, false);
    // Each run's hits were folded into the state at its restart, as after `ktrace run`: two runs with the probe on.
    assert.is(s.profile['p:probe/vfs_read vfs_read'][0], 2 * hits);
    assert.is(ktrace(['list'], { KTRACE_STATE: state }).stdout.trim(), 'probe:vfs_read       (on vfs_read)');
    // x asks first (the event is enabled); n keeps it; x then y deletes it, as `ktrace del probe:vfs_read`.
    tmux('send-keys', '-t', 't', 'x');
    await waitFor(/delete probe:vfs_read \(enabled, [\d,]+ hits\)\? y deletes it/);
    tmux('send-keys', '-t', 't', 'n');
    await waitFor(/kept probe:vfs_read/);
    assert.is(ktrace(['list'], { KTRACE_STATE: state }).stdout.trim(), 'probe:vfs_read       (on vfs_read)');
    tmux('send-keys', '-t', 't', 'x');
    await waitFor(/delete probe:vfs_read/);
    tmux('send-keys', '-t', 't', 'y');
    await waitFor(/deleted probe:vfs_read/);
    tmux('send-keys', '-t', 't', 'q');
    p = await waitFor(/TUI-EXIT=\d+[\s\S]*icanon/);
    assert.match(p, /TUI-EXIT=0/);
    // Raw mode is off again: the line discipline is canonical ("icanon", not "-icanon").
    assert.match(p, /(^|\n)icanon/);
    assert.is(ktrace(['list'], { KTRACE_STATE: state }).stdout, '');
    assert.is(JSON.parse(readFileSync(join(state, 'state.json'), 'utf8')).kprobeEvents, '');
  } finally {
    tmux('kill-server');
  }
});

test('in tmux: keys typed faster than the screen (one chunk each: dd, /ksys with Enter, xy, qq) all act, in order', async () => {
  if (!hasTmux) { console.log('SKIP tmux missing: the end-to-end ktrace tui test needs it'); return; }
  const state = freshState();
  for (const argv of [['add', 'vfs_read'], ['add', 'ksys_read'], ['enable', 'probe:*']]) {
    assert.is(ktrace(argv, { KTRACE_STATE: state }).code, 0, argv.join(' '));
  }
  const cmd = `NO_COLOR=1 KTRACE_STATE=${state} ${process.execPath} ${MAIN} -k ${FIXTURE} tui; echo TUI-EXIT=$?; sleep 60`;
  await newSession(cmd);
  const stored = () => JSON.parse(readFileSync(join(state, 'state.json'), 'utf8'));
  try {
    await waitFor(/finished \(poweroff 0\)/);
    // dd: both keys reach the TUI (the second is the same change again): vfs_read, selected first, is disabled.
    tmux('send-keys', '-t', 't', '-l', 'dd');
    await waitFor(/disabled probe:vfs_read/);
    assert.equal(stored().enabled, ['probe/ksys_read']);
    // A filter typed with its Enter, then x and y, in one chunk: ksys_read deleted after the question.
    tmux('send-keys', '-t', 't', '-l', '/ksys\rxy');
    await waitFor(/deleted probe:ksys_read/);
    assert.is(stored().kprobeEvents, 'p:probe/vfs_read vfs_read\n');
    // qq: quits once.
    tmux('send-keys', '-t', 't', '-l', 'qq');
    const p = await waitFor(/TUI-EXIT=\d+/);
    assert.match(p, /TUI-EXIT=0/);
  } finally {
    tmux('kill-server');
  }
});

test('in tmux: while a long workload runs, hits grow; disabled, they stop while the machine runs on', async () => {
  if (!hasTmux) { console.log('SKIP tmux missing: the end-to-end ktrace tui test needs it'); return; }
  const state = freshState();
  const wl = join(tempDir(), 'long.wl');
  writeFileSync(wl, 'b = buf 64\nrepeat 200000 {\n  fd = openat "/etc/motd"\n  n = read fd b\n  close fd\n}\n');
  const cmd = `NO_COLOR=1 KTRACE_STATE=${state} ${process.execPath} ${MAIN} -k ${FIXTURE} tui ${wl}; echo TUI-EXIT=$?; sleep 60`;
  await newSession(cmd);
  const insnsOf = (p: string) => Number(/insns ([\d,]+)/.exec(p)?.[1]?.replace(/,/g, '') ?? NaN);
  try {
    await waitFor(/long\.wl\s+running/);
    tmux('send-keys', '-t', 't', 'a');
    await waitFor(/add probe: _/);
    tmux('send-keys', '-t', 't', '-l', 'vfs_read');
    tmux('send-keys', '-t', 't', 'Enter');
    let p = await waitFor(/added probe:vfs_read/);
    const h0 = hitsOf(vfsRow(p));
    assert.ok(Number.isFinite(h0), vfsRow(p));
    p = await waitForGrowth((q) => hitsOf(vfsRow(q)), h0, 'the hits of probe:vfs_read');
    assert.match(p, /long\.wl\s+running/);
    tmux('send-keys', '-t', 't', 'd');
    p = await waitFor(/disabled probe:vfs_read/);
    const h2 = hitsOf(vfsRow(p));
    const i2 = insnsOf(p);
    // The machine runs on (instructions retired grow) and a while later the hits are still where they were.
    p = await waitForGrowth(insnsOf, i2, 'instructions retired');
    await sleep(600);
    p = pane();
    assert.match(p, /long\.wl\s+running/);
    assert.ok(insnsOf(p) > i2, 'the machine runs on');
    assert.is(hitsOf(vfsRow(p)), h2, 'hits stop once disabled');
    tmux('send-keys', '-t', 't', 'C-c');
    p = await waitFor(/TUI-EXIT=\d+/);
    assert.match(p, /TUI-EXIT=0/);
  } finally {
    tmux('kill-server');
  }
});

test('in tmux: live histograms of a fetch arg and of return values, the filter, and a resized terminal', async () => {
  if (!hasTmux) { console.log('SKIP tmux missing: the end-to-end ktrace tui test needs it'); return; }
  const state = freshState();
  for (const argv of [['add', 'vfs_read count=%dx:u64'], ['add', 'vfs_read%return $retval'], ['add', '__x64_sys_read+5'], ['enable', 'probe:*']]) {
    assert.is(ktrace(argv, { KTRACE_STATE: state }).code, 0, argv.join(' '));
  }
  const wl = join(tempDir(), 'long.wl');
  writeFileSync(wl, 'b = buf 64\nrepeat 200000 {\n  fd = openat "/etc/motd"\n  n = read fd b\n  close fd\n}\n');
  const cmd = `NO_COLOR=1 KTRACE_STATE=${state} ${process.execPath} ${MAIN} -k ${FIXTURE} tui ${wl}; echo TUI-EXIT=$?; sleep 60`;
  await newSession(cmd);
  const recorded = (p: string, field: string) => Number(new RegExp(`@${field} \\((?:log2|values), ([\\d,]+) recorded`).exec(p)?.[1]?.replace(/,/g, '') ?? NaN);
  const width = (p: string) => Math.max(...p.split('\n').map((l) => [...l.trimEnd()].length));
  try {
    // The first probe is selected: the histogram of its count argument, growing while the workload runs.
    let p = await waitFor(/@count \(log2, [1-9][\d,]* recorded/);
    const n0 = recorded(p, 'count');
    p = await waitForGrowth((q) => recorded(q, 'count'), n0, '@count recorded');
    // read(fd, b, 64) asks for 64 bytes: the [64, 128) bucket holds them.
    assert.match(p, /\[64, 128\)\s+[\d]+ \|@+/);
    // __x64_sys_read+5 is jump-optimized once the optimizer's delayed work has run, and fires.
    // (At 80 columns the name and place are cut: "probe:__x64_sys_rea~ p __x64_sys_read+~".)
    p = await waitFor(/probe:__x64_sys_rea\S*\s+p __x64_sys_read\S*\s+\[OPTIMIZED\]\s+[1-9]/);
    // The return probe: vfs_read returned the file's length.
    tmux('send-keys', '-t', 't', 'Down');
    p = await waitFor(/@retval \(values, [1-9]/);
    assert.ok(width(p) <= 80);
    // Filter: only the return probe is listed.
    tmux('send-keys', '-t', 't', '/');
    await waitFor(/filter: _/);
    tmux('send-keys', '-t', 't', '-l', 'return');
    tmux('send-keys', '-t', 't', 'Enter');
    p = await waitFor(/Probes \(1 of 3 matching "return"\)/);
    assert.ok(p.includes('> probe:vfs_read__ret'), p);
    // A larger terminal: the screen grows to it.
    tmux('resize-window', '-t', 't', '-x', '132', '-y', '40');
    p = await waitFor(/─{120}/);
    assert.is(width(p), 132, p);
    tmux('send-keys', '-t', 't', 'Escape');
    p = await waitFor(/Probes \(3\)/);
    // The add prompt takes perf's debuginfo forms as `ktrace add` does: ksys_read by name with its fd
    // argument, on the out-of-line body and the copy inlined into __x64_sys_read, under one event.
    tmux('send-keys', '-t', 't', 'a');
    await waitFor(/add probe: _/);
    tmux('send-keys', '-t', 't', '-l', 'ksys_read fd');
    tmux('send-keys', '-t', 't', 'Enter');
    p = await waitFor(/added probe:ksys_read/);
    const rows = p.split('\n').filter((l) => /probe:ksys_read\s/.test(l));
    assert.is(rows.length, 2, p);
    assert.ok(rows.some((l) => l.includes('__x64_sys_read+0x1a')), p);
    assert.match(JSON.parse(readFileSync(join(state, 'state.json'), 'utf8')).kprobeEvents, /p:probe\/ksys_read __x64_sys_read\+26 fd=\+112\(%di\):x32\np:probe\/ksys_read ksys_read fd=%di:x32\n/);
    tmux('send-keys', '-t', 't', 'q');
    p = await waitFor(/TUI-EXIT=\d+/);
    assert.match(p, /TUI-EXIT=0/);
  } finally {
    tmux('kill-server');
  }
});

test.run();
