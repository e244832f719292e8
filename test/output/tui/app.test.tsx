import { test } from 'uvu';
import * as assert from 'uvu/assert';
import React from 'react';
import { render } from 'ink-testing-library';
import { App, AddPrompt, DetailPanel, commonPrefix, MachinePanel, ProbesPanel, Footer, Help, fmtNs, type TuiController, type TuiModel, type ProbeRow } from '../../../src/output/tui/app.js';

const rows = (): ProbeRow[] => [
  { name: 'probe:vfs_read', type: 'p', where: 'vfs_read+0x0', tags: '[FTRACE]', enabled: true, hits: 1234, misses: 0 },
  { name: 'probe:ksys_write', type: 'r', where: 'ksys_write+0x0', tags: '[OPTIMIZED]', enabled: false, hits: 7, misses: 2 },
];
const machine = () => ({ workload: 'default', cpus: 2, instructions: 5_000_000, emulatedNs: 2_500_000, mips: 12.5, kprobesEnabled: true, optimization: true, status: 'running' as const });

function fake() {
  const calls: string[] = [];
  const model: TuiModel = { probes: rows(), machine: machine() };
  const ctl: TuiController = {
    snapshot: () => ({ ...model, probes: model.probes.map((p) => ({ ...p })), machine: { ...model.machine } }),
    togglePause: () => { calls.push('pause'); model.machine.status = model.machine.status === 'paused' ? 'running' : 'paused'; },
    restart: () => { calls.push('restart'); model.machine.instructions = 0; },
    setEnabled: (name, on) => { calls.push(`${on ? 'enable' : 'disable'} ${name}`); model.probes.find((p) => p.name === name)!.enabled = on; },
    quit: () => { calls.push('quit'); },
    addProbe: (spec) => {
      calls.push(`add ${spec}`);
      if (spec.startsWith('nosuch')) return 'add: Failed to find symbol';
      model.probes.push({ name: `probe:${spec.split(' ')[0]}`, type: 'p', where: spec.split(' ')[0] + '+0x0', tags: '', enabled: true, hits: 0, misses: 0 });
      return undefined;
    },
    deleteProbe: (name) => { calls.push(`del ${name}`); model.probes = model.probes.filter((p) => p.name !== name); },
    toggleKprobes: () => { calls.push('kprobes'); model.machine.kprobesEnabled = !model.machine.kprobesEnabled; },
    toggleOptimization: () => { calls.push('opt'); model.machine.optimization = !model.machine.optimization; },
    detail: (name) => ({ definition: `p:${name.replace(':', '/')} ${name.split(':')[1]}`, lines: name === 'probe:vfs_read' ? ['cat-1 [000] ..... 0.000100: vfs_read: (vfs_read+0x0/0x90)\n'] : [] }),
    complete: (prefix) => ['vfs_read', 'vfs_readv', 'vfs_write', 'ksys_read'].filter((n) => n.startsWith(prefix)),
  };
  return { ctl, calls, model };
}
const tick = () => new Promise((r) => setTimeout(r, 30));
const lines = (f: string | undefined) => (f ?? '').split('\n');

test('probes panel: names, type, tags, hits and misses; disabled probes marked [OFF]', () => {
  const { lastFrame } = render(<ProbesPanel probes={rows()} selected={0} color={false} />);
  const f = lastFrame()!;
  const vfs = lines(f).find((l) => l.includes('probe:vfs_read'))!;
  assert.match(vfs, /> probe:vfs_read\s+p vfs_read\+0x0\s+\[FTRACE\]\s+1,234\s+0/);
  const w = lines(f).find((l) => l.includes('probe:ksys_write'))!;
  assert.match(w, /^\W*\s+probe:ksys_write\s+r ksys_write\+0x0\s+\[OFF\]\[OPTIM~\s+7\s+2/);
  assert.ok(f.includes('Probes (2)'));
});

test('probes panel: empty state says how to add one', () => {
  const { lastFrame } = render(<ProbesPanel probes={[]} selected={0} color={false} />);
  assert.ok(lastFrame()!.includes('no probe events defined'));
});

test('probes panel: long lists scroll to keep the selection visible', () => {
  const many = Array.from({ length: 30 }, (_, i) => ({ ...rows()[0]!, name: `probe:e${i}` }));
  const f = render(<ProbesPanel probes={many} selected={25} color={false} rows={5} />).lastFrame()!;
  assert.ok(f.includes('> probe:e25'));
  assert.not.ok(f.includes('probe:e0 '));
});

test('machine panel: workload, CPUs, instructions, emulated time, MIPS, kprobes/enabled, sysctl', () => {
  const f = render(<MachinePanel m={{ ...machine(), kprobesEnabled: false }} color={false} />).lastFrame()!;
  assert.ok(f.includes('Machine: default  running'));
  assert.ok(f.includes('CPUs 2'));
  assert.ok(f.includes('insns 5,000,000'));
  assert.ok(f.includes('time 2.500 ms'));
  assert.ok(f.includes('12.5 MIPS'));
  assert.ok(f.includes('kprobes/enabled 0'));
  assert.ok(f.includes('debug.kprobes-optimization 1'));
  const fin = render(<MachinePanel m={{ ...machine(), status: 'finished', end: 'poweroff 0' }} color={false} />).lastFrame()!;
  assert.ok(fin.includes('finished (poweroff 0)'));
});

test('fmtNs picks a unit', () => {
  assert.is(fmtNs(12), '12 ns');
  assert.is(fmtNs(1_500), '1.500 us');
  assert.is(fmtNs(3_000_000_000), '3.000 s');
});

test('footer and help list the keys', () => {
  assert.ok(render(<Footer />).lastFrame()!.includes('q quit'));
  assert.ok(render(<Footer message="disabled probe:x" />).lastFrame()!.includes('disabled probe:x'));
  const h = render(<Help />).lastFrame()!;
  for (const k of ['pause / resume', 'restart the workload', 'quit']) assert.ok(h.includes(k), k);
});

test('the whole screen fits 80x24', () => {
  const { ctl, model } = fake();
  for (let i = 0; i < 20; i++) model.probes.push({ ...rows()[0]!, name: `probe:e${i}` });
  const r = render(<App ctl={ctl} color={false} rows={5} />);
  const ls = lines(r.lastFrame());
  assert.ok(ls.length <= 24, `${ls.length} lines`);
  for (const l of ls) assert.ok([...l].length <= 80, `too wide: ${l}`);
  r.unmount();
});

test('keys: down selects, d disables the selected probe, e enables it', async () => {
  const { ctl, calls } = fake();
  const r = render(<App ctl={ctl} color={false} />);
  await tick();
  r.stdin.write('\u001B[B'); // down arrow
  await tick();
  assert.ok(r.lastFrame()!.includes('> probe:ksys_write'));
  r.stdin.write('e');
  await tick();
  assert.equal(calls, ['enable probe:ksys_write']);
  assert.not.ok(lines(r.lastFrame()).find((l) => l.includes('probe:ksys_write'))!.includes('[OFF]'));
  r.stdin.write('\u001B[A'); // up arrow
  await tick();
  r.stdin.write('d');
  await tick();
  assert.equal(calls, ['enable probe:ksys_write', 'disable probe:vfs_read']);
  assert.ok(lines(r.lastFrame()).find((l) => l.includes('probe:vfs_read'))!.includes('[OFF]'));
  r.unmount();
});

test('keys: p pauses and resumes, r restarts', async () => {
  const { ctl, calls } = fake();
  const r = render(<App ctl={ctl} color={false} />);
  await tick();
  r.stdin.write('p');
  await tick();
  assert.ok(r.lastFrame()!.includes('default  paused'));
  r.stdin.write('p');
  await tick();
  assert.ok(r.lastFrame()!.includes('default  running'));
  r.stdin.write('r');
  await tick();
  assert.equal(calls, ['pause', 'pause', 'restart']);
  assert.ok(r.lastFrame()!.includes('insns 0 '));
  r.unmount();
});

test('keys: ? opens help, any key closes it', async () => {
  const { ctl, calls } = fake();
  const r = render(<App ctl={ctl} color={false} />);
  await tick();
  r.stdin.write('?');
  await tick();
  assert.ok(r.lastFrame()!.includes('pause / resume'));
  r.stdin.write('x');
  await tick();
  assert.ok(r.lastFrame()!.includes('Probes (2)'));
  assert.equal(calls, []);
  r.unmount();
});

test('keys: q and Ctrl-C quit through the controller', async () => {
  for (const k of ['q', '\u0003']) {
    const { ctl, calls } = fake();
    const r = render(<App ctl={ctl} color={false} />);
    await tick();
    r.stdin.write(k);
    await tick();
    assert.equal(calls, ['quit'], JSON.stringify(k));
    r.unmount();
  }
});

test('the screen refreshes from the controller on its own', async () => {
  const { ctl, model } = fake();
  const r = render(<App ctl={ctl} color={false} refreshMs={10} />);
  model.probes[0]!.hits = 99_999;
  await tick();
  assert.ok(r.lastFrame()!.includes('99,999'));
  r.unmount();
});

test('keys: a opens the add prompt; Tab completes symbols; Enter adds and selects the new probe', async () => {
  const { ctl, calls } = fake();
  const r = render(<App ctl={ctl} color={false} />);
  await tick();
  r.stdin.write('a');
  await tick();
  assert.ok(r.lastFrame()!.includes('add probe: _'));
  r.stdin.write('vfs_r');
  await tick();
  r.stdin.write('\t');
  await tick();
  // Two candidates share "vfs_read": the common prefix is filled in and both are shown.
  assert.ok(r.lastFrame()!.includes('add probe: vfs_read_'), r.lastFrame());
  assert.ok(r.lastFrame()!.includes('vfs_read  vfs_readv'));
  r.stdin.write('v');
  await tick();
  r.stdin.write('\t');
  await tick();
  assert.ok(r.lastFrame()!.includes('add probe: vfs_readv _'), r.lastFrame());
  r.stdin.write('\r');
  await tick();
  assert.equal(calls, ['add vfs_readv']);
  const f = r.lastFrame()!;
  assert.ok(f.includes('> probe:vfs_readv'), f);
  assert.ok(f.includes('q quit'));
  r.unmount();
});

test('keys: in the add prompt q is text, Backspace edits, Esc cancels without adding', async () => {
  const { ctl, calls } = fake();
  const r = render(<App ctl={ctl} color={false} />);
  await tick();
  r.stdin.write('a');
  await tick();
  r.stdin.write('qx');
  await tick();
  r.stdin.write('\x7f'); // Backspace
  await tick();
  assert.ok(r.lastFrame()!.includes('add probe: q_'), r.lastFrame());
  r.stdin.write('\u001B');
  await tick();
  await tick();
  assert.not.ok(r.lastFrame()!.includes('add probe'));
  assert.equal(calls, []);
  r.unmount();
});

test('keys: x deletes the selected probe; k and o toggle kprobes/enabled and the optimization sysctl', async () => {
  const { ctl, calls } = fake();
  const r = render(<App ctl={ctl} color={false} />);
  await tick();
  r.stdin.write('\u001B[B');
  await tick();
  r.stdin.write('x');
  await tick();
  assert.equal(calls, ['del probe:ksys_write']);
  let f = r.lastFrame()!;
  assert.ok(f.includes('Probes (1)'));
  assert.ok(f.includes('> probe:vfs_read'), f); // the selection moves to the remaining probe
  r.stdin.write('k');
  await tick();
  f = r.lastFrame()!;
  assert.ok(f.includes('kprobes/enabled 0'));
  r.stdin.write('o');
  await tick();
  assert.ok(r.lastFrame()!.includes('debug.kprobes-optimization 0'));
  assert.equal(calls, ['del probe:ksys_write', 'kprobes', 'opt']);
  r.unmount();
});

test('keys arriving faster than renders are not lost (paste, tmux send-keys)', async () => {
  const { ctl, calls } = fake();
  const r = render(<App ctl={ctl} color={false} />);
  await tick();
  r.stdin.write('a');
  r.stdin.write('vfs_readv\r'); // text and Enter in one chunk
  r.stdin.write('\u001B[A');
  r.stdin.write('d');
  await tick();
  assert.equal(calls, ['add vfs_readv', 'disable probe:ksys_write']);
  r.unmount();
});

test('detail pane: the selected probe\'s definition and latest trace lines', async () => {
  const { ctl } = fake();
  const r = render(<App ctl={ctl} color={false} />);
  await tick();
  let f = r.lastFrame()!;
  assert.ok(f.includes('p:probe/vfs_read vfs_read'), f);
  assert.ok(f.includes('0.000100: vfs_read: (vfs_read+0x0/0x90)'));
  r.stdin.write('\u001B[B');
  await tick();
  f = r.lastFrame()!;
  assert.ok(f.includes('p:probe/ksys_write ksys_write'));
  assert.ok(f.includes('no trace lines yet'));
  r.unmount();
  const d = render(<DetailPanel definition="p:a/b c" lines={['1\n', '2\n', '3\n', '4\n']} rows={2} />).lastFrame()!;
  assert.ok(d.includes('3') && d.includes('4') && !d.includes(' 2 '));
});

test('add prompt and commonPrefix', () => {
  assert.is(commonPrefix(['vfs_read', 'vfs_readv', 'vfs_write']), 'vfs_');
  assert.is(commonPrefix([]), '');
  const f = render(<AddPrompt text="vfs" candidates={['a', 'b', 'c', 'd', 'e', 'f']} />).lastFrame()!;
  assert.ok(f.includes('a  b  c  d (+2)'));
});

test.run();
