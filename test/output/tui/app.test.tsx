import { test } from 'uvu';
import * as assert from 'uvu/assert';
import React from 'react';
import { render as inkRender } from 'ink-testing-library';
import { App, keypresses, AddPrompt, DetailPanel, HistogramPanel, commonPrefix, layout, matchesFilter, MachinePanel, ProbesPanel, Footer, Help, fmtNs, type TuiController, type TuiModel, type ProbeRow, type Histogram } from '../../../src/output/tui/app.js';

const rows = (): ProbeRow[] => [
  { name: 'probe:vfs_read', type: 'p', where: 'vfs_read+0x0', tags: '[FTRACE]', enabled: true, hits: 1234, misses: 0 },
  { name: 'probe:ksys_write', type: 'r', where: 'ksys_write+0x0', tags: '[OPTIMIZED]', enabled: false, hits: 7, misses: 2 },
];
const machine = () => ({ workload: 'default', syscalls: 1234, tasks: 3, cpus: 2, instructions: 5_000_000, emulatedNs: 2_500_000, mips: 12.5, kprobesEnabled: true, optimization: true, status: 'running' as const });

const hists: Record<string, Histogram> = {
  count: { field: 'count', kind: 'log2', total: 12, rows: [{ label: '[1]', count: 2 }, { label: '[2, 4)', count: 0 }, { label: '[4, 8)', count: 10 }] },
  fd: { field: 'fd', kind: 'log2', total: 12, rows: [{ label: '[2, 4)', count: 12 }] },
  $retval: { field: '$retval', kind: 'values', total: 9, rows: [{ label: '5', count: 6 }, { label: '-EAGAIN', count: 3 }] },
};

function fake() {
  const calls: string[] = [];
  const filters: Record<string, string> = {};
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
    setEventFilter: (name, expr) => {
      calls.push(`filter ${name} ${expr}`);
      if (expr.includes('>>')) return `filter ${name}: Invalid value (did you forget quotes)?`;
      filters[name] = expr;
      return undefined;
    },
    deleteProbe: (name) => { calls.push(`del ${name}`); model.probes = model.probes.filter((p) => p.name !== name); },
    toggleKprobes: () => { calls.push('kprobes'); model.machine.kprobesEnabled = !model.machine.kprobesEnabled; },
    toggleOptimization: () => { calls.push('opt'); model.machine.optimization = !model.machine.optimization; },
    detail: (name, field) => {
      const fields = name === 'probe:vfs_read' ? ['count', 'fd'] : name === 'probe:ksys_write' ? ['$retval'] : [];
      const f = field !== undefined && fields.includes(field) ? field : fields[0];
      return {
        definition: `p:${name.replace(':', '/')} ${name.split(':')[1]}`,
        lines: name === 'probe:vfs_read' ? ['cat-1 [000] ..... 0.000100: vfs_read: (vfs_read+0x0/0x90)\n'] : [],
        fields, hist: f === undefined ? undefined : hists[f], ...(filters[name] ? { filter: filters[name] } : {}),
      };
    },
    complete: (prefix) => ['vfs_read', 'vfs_readv', 'vfs_write', 'ksys_read'].filter((n) => n.startsWith(prefix)),
  };
  return { ctl, calls, model };
}
const tick = () => new Promise((r) => setTimeout(r, 30));
// ink answers keys and resizes on its own schedule (React's scheduler, a throttled render): on a
// loaded machine 30 ms is not always enough. What a test expects after a key is asserted until it
// holds, for up to 10 s; a wrong screen still fails, only later.
async function eventually(check: () => void, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try { check(); return; } catch (e) { if (Date.now() > end) throw e; }
    await new Promise((r) => setTimeout(r, 20));
  }
}
// Every screen a test mounts is unmounted after it, passed or failed: a mounted App keeps refreshing,
// and one left behind by a failed assertion would keep the process alive (and its frames growing).
const mounted: { unmount(): void }[] = [];
const render: typeof inkRender = (el) => {
  const r = inkRender(el);
  mounted.push(r);
  return r;
};
test.after.each(() => {
  for (const r of mounted.splice(0)) {
    try { r.unmount(); } catch { /* already unmounted by the test */ }
  }
});
const lines = (f: string | undefined) => (f ?? '').split('\n');

test('probes panel: names, type, tags, hits and misses; disabled probes marked [OFF]', () => {
  const { lastFrame } = render(<ProbesPanel probes={rows()} selected={0} color={false} />);
  const f = lastFrame()!;
  const vfs = lines(f).find((l) => l.includes('probe:vfs_read'))!;
  assert.match(vfs, /> probe:vfs_read\s+p vfs_read\+0x0\s+\[FTRACE\]\s+1,234\s+0/);
  const off = render(<ProbesPanel probes={[{ ...rows()[0]!, enabled: false, tags: '[DISABLED][FTRACE]' }]} selected={0} color={false} />).lastFrame()!;
  assert.match(off, /vfs_read\+0x0\s+\[DISABLED\]\[FTRACE\]\s+1,234/, 'the kernel\'s [DISABLED] fits whole, without [OFF]');
  const w = lines(f).find((l) => l.includes('probe:ksys_write'))!;
  assert.match(w, /^\W*\s+probe:ksys_write\s+r ksys_write\+0x0\s+\[OFF\]\[OPTIMIZED\]\s+7\s+2/);
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
  assert.ok(f.includes('Machine: default  running  1,234 system calls  3 tasks running'), f);
  assert.ok(f.includes('CPUs 2'));
  assert.ok(f.includes('insns 5,000,000'));
  assert.ok(f.includes('time 2.500 ms'));
  assert.ok(f.includes('12.5 MIPS'));
  assert.ok(f.includes('kprobes/enabled 0'));
  assert.ok(f.includes('debug.kprobes-optimization 1'));
  const fin = render(<MachinePanel m={{ ...machine(), status: 'finished', end: 'poweroff 0' }} color={false} />).lastFrame()!;
  assert.ok(fin.includes('finished (poweroff 0)  1,234 system calls'));
  assert.not.ok(fin.includes('tasks running'), 'a finished workload has no tasks left to count');
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

const bigHist = (n: number): Histogram => ({ field: 'count', kind: 'log2', total: n * 10, rows: Array.from({ length: n }, (_, i) => ({ label: `[${i}]`, count: 10 })) });

test('the whole screen fits 80x24: probes, histogram, trace lines, machine and a prompt', async () => {
  const { ctl, model } = fake();
  for (let i = 0; i < 20; i++) model.probes.push({ ...rows()[0]!, name: `probe:e${i}` });
  const base = ctl.detail;
  ctl.detail = (name, field) => ({ ...base(name, field), hist: bigHist(30), lines: Array.from({ length: 30 }, (_, i) => `line ${i} ${'x'.repeat(100)}\n`) });
  const r = render(<App ctl={ctl} color={false} size={{ columns: 80, rows: 24 }} />);
  await tick();
  r.stdin.write('a');
  await tick();
  const ls = lines(r.lastFrame());
  assert.ok(ls.length <= 23, `${ls.length} lines: the last row stays free`);
  for (const l of ls) assert.ok([...l].length <= 80, `too wide: ${l}`);
  const f = r.lastFrame()!;
  for (const part of ['Probes (22)', '@count (log2', 'line 29', 'Machine: default', 'add probe: _']) assert.ok(f.includes(part), part);
  r.unmount();
});

test('layout: 80x24 at least; larger terminals give every panel more rows and columns', () => {
  const small = layout(80, 24);
  assert.equal(small, { width: 80, probeRows: 3, histRows: 3, lineRows: 2 });
  assert.equal(layout(40, 10), small);
  assert.equal(layout(NaN, NaN), small);
  const big = layout(160, 50);
  assert.is(big.width, 160);
  assert.ok(big.probeRows > small.probeRows && big.histRows > small.histRows && big.lineRows > small.lineRows, JSON.stringify(big));
  assert.is(big.probeRows + big.histRows + big.lineRows + 15, 49);
  assert.ok(layout(80, 200).histRows <= 16, 'histograms stop growing at 16 rows');
});

test('a larger terminal shows more probes and wider lines; the screen follows resize events', async () => {
  const { ctl, model } = fake();
  for (let i = 0; i < 30; i++) model.probes.push({ ...rows()[0]!, name: `probe:event_with_a_long_name_${i}` });
  const r = render(<App ctl={ctl} color={false} />);
  const stdout = r.stdout as unknown as { columns: number; rows: number; emit(e: string): void };
  const resize = async (columns: number, rows: number) => {
    Object.defineProperty(stdout, 'columns', { value: columns, configurable: true });
    Object.defineProperty(stdout, 'rows', { value: rows, configurable: true });
    stdout.emit('resize');
    await tick();
  };
  await resize(80, 24);
  let ls = lines(r.lastFrame());
  assert.is(Math.max(...ls.map((l) => [...l].length)), 80);
  assert.is(ls.filter((l) => l.includes('probe:')).length, 3);
  await resize(150, 50);
  ls = lines(r.lastFrame());
  assert.is(Math.max(...ls.map((l) => [...l].length)), 150);
  assert.ok(ls.length <= 49);
  assert.is(ls.filter((l) => l.includes('probe:')).length, layout(150, 50).probeRows);
  // Names that were cut at 80 columns are whole at 150.
  assert.ok(ls.some((l) => l.includes('probe:event_with_a_long_name_0 ')), ls.join('\n'));
  await resize(80, 24);
  assert.is(Math.max(...lines(r.lastFrame()).map((l) => [...l].length)), 80);
  r.unmount();
});

test('keys: down selects, d disables the selected probe, e enables it', async () => {
  const { ctl, calls } = fake();
  const r = render(<App ctl={ctl} color={false} />);
  await tick();
  r.stdin.write('\u001B[B'); // down arrow
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('> probe:ksys_write'));
  });
  r.stdin.write('e');
  await tick();
  await eventually(() => {
    assert.equal(calls, ['enable probe:ksys_write']);
    assert.not.ok(lines(r.lastFrame()).find((l) => l.includes('probe:ksys_write'))!.includes('[OFF]'));
  });
  r.stdin.write('\u001B[A'); // up arrow
  await tick();
  r.stdin.write('d');
  await tick();
  await eventually(() => {
    assert.equal(calls, ['enable probe:ksys_write', 'disable probe:vfs_read']);
    assert.ok(lines(r.lastFrame()).find((l) => l.includes('probe:vfs_read'))!.includes('[OFF]'));
  });
  r.unmount();
});

test('keys: p pauses and resumes, r restarts', async () => {
  const { ctl, calls } = fake();
  const r = render(<App ctl={ctl} color={false} />);
  await tick();
  r.stdin.write('p');
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('default  paused'));
  });
  r.stdin.write('p');
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('default  running'));
  });
  r.stdin.write('r');
  await tick();
  await eventually(() => {
    assert.equal(calls, ['pause', 'pause', 'restart']);
    assert.ok(r.lastFrame()!.includes('insns 0 '));
  });
  r.unmount();
});

test('keys: ? opens help, any key closes it', async () => {
  const { ctl, calls } = fake();
  const r = render(<App ctl={ctl} color={false} />);
  await tick();
  r.stdin.write('?');
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('pause / resume'));
  });
  r.stdin.write('x');
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('Probes (2)'));
    assert.equal(calls, []);
  });
  r.unmount();
});

test('keys: q and Ctrl-C quit through the controller', async () => {
  for (const k of ['q', '\u0003']) {
    const { ctl, calls } = fake();
    const r = render(<App ctl={ctl} color={false} />);
    await tick();
    r.stdin.write(k);
    await tick();
    await eventually(() => {
      assert.equal(calls, ['quit'], JSON.stringify(k));
    });
    r.unmount();
  }
});

test('the screen refreshes from the controller on its own', async () => {
  const { ctl, model } = fake();
  const r = render(<App ctl={ctl} color={false} refreshMs={10} />);
  model.probes[0]!.hits = 99_999;
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('99,999'));
  });
  r.unmount();
});

test('keys: a opens the add prompt; Tab completes symbols; Enter adds and selects the new probe', async () => {
  const { ctl, calls } = fake();
  const r = render(<App ctl={ctl} color={false} />);
  await tick();
  r.stdin.write('a');
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('add probe: _'));
  });
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
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('add probe: vfs_readv _'), r.lastFrame());
  });
  r.stdin.write('\r');
  await tick();
  await eventually(() => {
    assert.equal(calls, ['add vfs_readv']);
  });
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
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('add probe: q_'), r.lastFrame());
  });
  r.stdin.write('\u001B');
  await tick();
  await tick();
  await eventually(() => {
    assert.not.ok(r.lastFrame()!.includes('add probe'));
    assert.equal(calls, []);
  });
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
  // It asks first, naming the event and its state; n (any key but y) keeps it.
  assert.equal(calls, []);
  let f = r.lastFrame()!;
  assert.ok(f.includes('delete probe:ksys_write (disabled, 7 hits)? y deletes it, any other key keeps it'), f);
  r.stdin.write('n');
  await tick();
  await eventually(() => {
    assert.equal(calls, []);
    assert.ok(r.lastFrame()!.includes('kept probe:ksys_write'));
    assert.ok(r.lastFrame()!.includes('Probes (2)'));
  });
  r.stdin.write('x');
  await tick();
  r.stdin.write('y');
  await tick();
  await eventually(() => {
    assert.equal(calls, ['del probe:ksys_write']);
  });
  f = r.lastFrame()!;
  assert.ok(f.includes('Probes (1)'));
  assert.ok(f.includes('> probe:vfs_read'), f); // the selection moves to the remaining probe
  r.stdin.write('k');
  await tick();
  f = r.lastFrame()!;
  assert.ok(f.includes('kprobes/enabled 0'));
  r.stdin.write('o');
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('debug.kprobes-optimization 0'));
    assert.equal(calls, ['del probe:ksys_write', 'kprobes', 'opt']);
  });
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
  await eventually(() => {
    assert.equal(calls, ['add vfs_readv', 'disable probe:ksys_write']);
  });
  // Text, Tab and Enter in one chunk: completed, then added.
  r.stdin.write('a');
  r.stdin.write('ksys_r\t\r');
  await tick();
  await eventually(() => {
    assert.equal(calls.slice(2), ['add ksys_read']);
  });
  r.unmount();
});

test('every key of a chunk is taken, in order: qq, dd, /pipe typed fast, a paste with its Enter', async () => {
  // dd: both act on the selected probe (the second disable is the same change again).
  let { ctl, calls } = fake();
  let r = render(<App ctl={ctl} color={false} />);
  await tick();
  r.stdin.write('dd');
  await tick();
  await eventually(() => {
    assert.equal(calls, ['disable probe:vfs_read', 'disable probe:vfs_read']);
  });
  // ed: enable, then disable; the model ends disabled.
  r.stdin.write('ed');
  await tick();
  await eventually(() => {
    assert.equal(calls.slice(2), ['enable probe:vfs_read', 'disable probe:vfs_read']);
  });
  // /pipe in one chunk: the filter prompt opens with the rest of the chunk as its text.
  r.stdin.write('/ksys');
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('filter: ksys_'), r.lastFrame());
    assert.ok(r.lastFrame()!.includes('Probes (1 of 2 matching "ksys")'), r.lastFrame());
  });
  // Enter and the next keys in one chunk: the filter is kept, then e acts on the filtered list.
  r.stdin.write('\re');
  await tick();
  await eventually(() => {
    assert.equal(calls.slice(4), ['enable probe:ksys_write']);
  });
  // qq: the first q quits (once).
  r.stdin.write('qq');
  await tick();
  await eventually(() => {
    assert.equal(calls.slice(5), ['quit']);
  });
  r.unmount();
  // A pasted spec with Backspace and its Enter, then x and y in one chunk: added, then deleted after the y.
  ({ ctl, calls } = fake());
  r = render(<App ctl={ctl} color={false} />);
  await tick();
  r.stdin.write('avfs_readx\x7fv\r');
  await tick();
  await eventually(() => {
    assert.equal(calls, ['add vfs_readv']);
    assert.ok(r.lastFrame()!.includes('> probe:vfs_readv'), r.lastFrame());
  });
  r.stdin.write('xy');
  await tick();
  await eventually(() => {
    assert.equal(calls, ['add vfs_readv', 'del probe:vfs_readv']);
  });
  // x then q in one chunk: q answers the question (kept), it does not quit.
  r.stdin.write('xq');
  await tick();
  await eventually(() => {
    assert.equal(calls.length, 2);
    assert.ok(r.lastFrame()!.includes('kept probe:'), r.lastFrame());
  });
  // Ctrl-C inside a chunk still quits.
  r.stdin.write('p\x03');
  await tick();
  await eventually(() => {
    assert.equal(calls.slice(2), ['pause', 'quit']);
  });
  r.unmount();
});

test('keypresses: a chunk splits into keys with the flags each character has alone', () => {
  const none = { upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false, return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false, super: false, hyper: false, capsLock: false, numLock: false };
  const ks = keypresses('aB\t\r\x7f\x01€', none);
  assert.equal(ks.map(([c]) => c), ['a', 'B', '', '', '', '€']);
  assert.equal(ks.map(([, k]) => [k.shift, k.tab, k.return, k.backspace]), [[false, false, false, false], [true, false, false, false], [false, true, false, false], [false, false, true, false], [false, false, false, true], [false, false, false, false]]);
  // One character, or a key with a modifier, passes as ink gave it.
  assert.equal(keypresses('q', none), [['q', none]]);
  assert.equal(keypresses('c', { ...none, ctrl: true }), [['c', { ...none, ctrl: true }]]);
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

test('histogram: log2 buckets of the first field with bars; h cycles through the probe\'s fields', async () => {
  const { ctl } = fake();
  const r = render(<App ctl={ctl} color={false} size={{ columns: 80, rows: 24 }} />);
  await tick();
  let f = r.lastFrame()!;
  assert.ok(f.includes('@count (log2, 12 recorded)   h: count | fd'), f);
  const four = lines(f).find((l) => l.includes('[4, 8)'))!;
  const one = lines(f).find((l) => l.includes('[1] '))!;
  assert.match(four, /\[4, 8\)\s+10 \|@+\s*\|/);
  // Bars scale to the largest count: 10 fills the bar, 2 is a fifth of it, an empty bucket has none.
  const bar = (l: string) => /\|(@*)/.exec(l)![1]!.length;
  assert.ok(bar(four) >= 40 && Math.abs(bar(one) - Math.floor(bar(four) / 5)) <= 1, `${bar(four)} ${bar(one)}`);
  assert.is(bar(lines(f).find((l) => l.includes('[2, 4)'))!), 0);
  r.stdin.write('h');
  await tick();
  f = r.lastFrame()!;
  assert.ok(f.includes('@fd (log2, 12 recorded)'), f);
  r.stdin.write('h');
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('@count (log2'), 'and back to the first');
  });
  // A return probe: its return values, most frequent first, errno names.
  r.stdin.write('\u001B[B');
  await tick();
  f = r.lastFrame()!;
  assert.ok(f.includes('@retval (values, 9 recorded)'), f);
  assert.ok(f.indexOf('-EAGAIN') > f.indexOf('5     '), f);
  r.stdin.write('h'); // one field: h changes nothing
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('@retval (values'));
  });
  r.unmount();
});

test('histogram panel: no field says how to get one; long histograms keep their densest rows', () => {
  let f = render(<HistogramPanel fields={[]} />).lastFrame()!;
  assert.ok(f.includes('no histogram: add a return probe or a numeric fetch arg'), f);
  f = render(<HistogramPanel fields={['x']} hist={{ field: 'x', kind: 'log2', total: 0, rows: [] }} />).lastFrame()!;
  assert.ok(f.includes('no values yet'));
  const h: Histogram = { field: 'x', kind: 'log2', total: 0, rows: [1, 1, 1, 50, 60, 1, 1].map((count, i) => ({ label: `[b${i}]`, count })) };
  f = render(<HistogramPanel fields={['x']} hist={h} rows={2} />).lastFrame()!;
  assert.ok(f.includes('[b3]') && f.includes('[b4]') && !f.includes('[b2]') && !f.includes('[b5]'), f);
  assert.ok(f.includes('5 more rows'), f);
});

test('keys: / filters the probe list by name, place or tag; Enter keeps it, Esc clears it', async () => {
  const { ctl, calls } = fake();
  const r = render(<App ctl={ctl} color={false} size={{ columns: 80, rows: 24 }} />);
  await tick();
  r.stdin.write('/');
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('filter: _'));
  });
  r.stdin.write('WRI'); // case-insensitive; q or d here would be text, not keys
  await tick();
  let f = r.lastFrame()!;
  assert.ok(f.includes('Probes (1 of 2 matching "WRI")'), f);
  assert.ok(f.includes('> probe:ksys_write'));
  assert.not.ok(f.includes('probe:vfs_read '));
  r.stdin.write('\r');
  await tick();
  f = r.lastFrame()!;
  assert.ok(f.includes('q quit'), 'the prompt closed');
  assert.ok(f.includes('1 of 2 matching'), 'the filter stays');
  // Keys act on the filtered list's selection.
  r.stdin.write('e');
  await tick();
  await eventually(() => {
    assert.equal(calls, ['enable probe:ksys_write']);
  });
  r.stdin.write('\u001B'); // Esc: all probes again
  await tick();
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('Probes (2)'));
  });
  r.stdin.write('/');
  r.stdin.write('nothing');
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('no probe matches the filter'));
  });
  r.stdin.write('\u001B');
  await tick();
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('Probes (2)'), 'Esc in the prompt clears it too');
  });
  r.unmount();
  assert.ok(matchesFilter(rows()[0]!, 'ftrace'));
  assert.ok(matchesFilter(rows()[1]!, '[off]'));
  assert.not.ok(matchesFilter(rows()[0]!, '[off]'));
});

test('keys: End, Home, PgDn and PgUp move the selection through long lists', async () => {
  const { ctl, model } = fake();
  for (let i = 0; i < 20; i++) model.probes.push({ ...rows()[0]!, name: `probe:e${i}` });
  const r = render(<App ctl={ctl} color={false} size={{ columns: 80, rows: 24 }} />);
  await tick();
  r.stdin.write('\u001B[F'); // End
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('> probe:e19'), r.lastFrame());
  });
  r.stdin.write('\u001B[H'); // Home
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('> probe:vfs_read'));
  });
  r.stdin.write('\u001B[6~'); // PgDn: a page is the list's height (3 rows at 80x24)
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('> probe:e1 '), r.lastFrame());
  });
  r.stdin.write('\u001B[5~');
  await tick();
  await eventually(() => {
    assert.ok(r.lastFrame()!.includes('> probe:vfs_read'));
  });
  r.unmount();
});

test("keys: f sets the selected event's kernel filter (shown with its definition); an error is shown", async () => {
  const { ctl, calls } = fake();
  const r = render(<App ctl={ctl} color={false} />);
  await tick();
  r.stdin.write('f');
  await eventually(() => assert.ok(r.lastFrame()!.includes('filter probe:vfs_read: _')));
  r.stdin.write('count > 100');
  await tick();
  r.stdin.write('\r');
  await eventually(() => {
    assert.equal(calls, ['filter probe:vfs_read count > 100']);
    assert.ok(r.lastFrame()!.includes('p:probe/vfs_read vfs_read  if count > 100'));
  });
  r.stdin.write('f');
  await eventually(() => assert.ok(r.lastFrame()!.includes('filter probe:vfs_read: count > 100_')));
  r.stdin.write('\u007f'.repeat(11) + 'count >> 1');
  await tick();
  r.stdin.write('\r');
  await eventually(() => assert.ok(r.lastFrame()!.includes('Invalid value (did you forget quotes)?')));
  r.unmount();
});

test.run();
