// Concurrent commands on one state directory (issue 14): processes mixing add, del, enable,
// disable, run and fs write. Afterwards the state must equal some serial order of the commands:
// every command that reported success succeeds at its place in that order, every command that
// failed fails there with the error a serial run gives, and the final events, enable flags and
// kprobe_profile counters are the order's. Commands on different events commute, so the order is
// searched per event (memoized over the set of commands placed and the event's state).
// Default: 16 processes (2 of them runs); KTRACE_LONG=1: 50 (6 runs).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { FIXTURE } from '../../elf/fixture.js';
import { readState, STATE_FILE } from '../../../src/cli/state/store.js';
import { MAIN, freshState } from '../run.js';
import { rng } from './fuzz-worker.js';

const LONG = process.env.KTRACE_LONG === '1';
const PROCS = LONG ? 50 : 16;
const RUNS = LONG ? 6 : 2;
const SEED = Number(process.env.KTRACE_FUZZ_SEED || 14);

/** One event's state in the model: its kprobe_events lines (in order), enable flag, counters per line. */
interface Ev { lines: string[]; enabled: boolean; profile: Record<string, number> }
const NONE: Ev = { lines: [], enabled: false, profile: {} };

/** A command on one event: its arguments and what it does in a serial order (undefined: it fails there, with `fails`). */
interface Cmd { name: string; args: string[]; fails: RegExp; apply: (e: Ev, hits: number) => Ev | undefined }

const line = (name: string, place: string) => `p:probe/${name} ${place}`;
const exists = (e: Ev) => e.lines.length > 0;

function commands(r: () => number): Cmd[] {
  const out: Cmd[] = [];
  const A = ['a0', 'a1'], B = ['b0', 'b1', 'b2'];
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  // Events a* are never removed (runs count their hits); b* come and go; c* are added once each.
  for (let i = 0; i < RUNS; i++) {
    const n = pick(A);
    out.push({ name: n, args: ['run', '-e', `probe:${n}`, '--summary'], fails: /no event matches/,
      apply: (e, hits) => (exists(e) ? { ...e, profile: Object.fromEntries(e.lines.map((l) => [l, (e.profile[l] ?? 0) + hits])) } : undefined) });
  }
  while (out.length < PROCS) {
    const k = r();
    if (k < 0.3) {
      const n = pick(A), reg = pick(['%di', '%si', '%dx']);
      // Through the debug info, as the loop: concurrent adds used to merge into one event.
      out.push({ name: n, args: ['add', `${n}=vfs_read ${reg}`], fails: /already exists/,
        apply: (e) => (exists(e) ? undefined : { ...NONE, lines: [`${line(n, 'vfs_read')} arg1=${reg}`], enabled: true }) });
    } else if (k < 0.4) {
      const n = pick(A), on = r() < 0.5;
      out.push(r() < 0.5
        ? { name: n, args: [on ? 'enable' : 'disable', `probe:${n}`], fails: /no event matches/, apply: (e) => (exists(e) ? { ...e, enabled: on } : undefined) }
        : { name: n, args: ['fs', 'write', `events/probe/${n}/enable`, on ? '1' : '0'], fails: /No such file or directory/, apply: (e) => (exists(e) ? { ...e, enabled: on } : undefined) });
    } else if (k < 0.55) {
      const n = pick(B);
      out.push({ name: n, args: ['add', `${n}=vfs_read`], fails: /already exists/, apply: (e) => (exists(e) ? undefined : { ...NONE, lines: [line(n, 'vfs_read')], enabled: true }) });
    } else if (k < 0.65) {
      const n = pick(B);
      // ktrace del refuses an enabled event (EBUSY, as perf probe -d).
      out.push({ name: n, args: ['del', `probe:${n}`], fails: /no event matches|Device or resource busy/, apply: (e) => (exists(e) && !e.enabled ? NONE : undefined) });
    } else if (k < 0.8) {
      // The kernel's rules: a new event, or another probe appended to it; the same probe twice is EEXIST.
      const n = pick(B), l = line(n, pick(['vfs_read+5', 'vfs_read+6', 'vfs_read+9']));
      out.push({ name: n, args: ['fs', 'write', 'kprobe_events', l], fails: /write error: File exists/,
        apply: (e) => (e.lines.includes(l) ? undefined : { ...e, lines: [...e.lines, l] }) });
    } else if (k < 0.87) {
      // Removing an enabled event is EBUSY; a missing one ENOENT.
      const n = pick(B);
      out.push({ name: n, args: ['fs', 'write', 'kprobe_events', '--', `-:probe/${n}`], fails: /write error: (Device or resource busy|No such file)/,
        apply: (e) => (exists(e) && !e.enabled ? NONE : undefined) });
    } else if (k < 0.95) {
      const n = pick(B), on = r() < 0.6;
      out.push({ name: n, args: [on ? 'enable' : 'disable', `probe:${n}`], fails: /no event matches/, apply: (e) => (exists(e) ? { ...e, enabled: on } : undefined) });
    } else {
      const n = `c${out.length}`;
      out.push({ name: n, args: ['add', `${n}=vfs_read`], fails: /(?!)/, apply: (e) => (exists(e) ? undefined : { ...NONE, lines: [line(n, 'vfs_read')], enabled: true }) });
    }
  }
  return out;
}

interface Outcome { code: number; stdout: string; stderr: string; ms: number }

function run(args: string[], state: string): Promise<Outcome> {
  const t0 = Date.now();
  return new Promise((res) => {
    const p = spawn(process.execPath, [MAIN, '-k', FIXTURE, ...args], { env: { ...process.env, NO_COLOR: '1', KTRACE_STATE: state } });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => res({ code: code ?? -1, stdout, stderr, ms: Date.now() - t0 }));
  });
}

const key = (e: Ev) => JSON.stringify([e.lines, e.enabled, Object.entries(e.profile).sort()]);

/** An order of `cmds` (all on one event) matching their outcomes and ending in `final`, or undefined. */
function serialOrder(cmds: { cmd: Cmd; ok: boolean; hits: number }[], final: Ev): number[] | undefined {
  const seen = new Set<string>();
  const go = (used: number, e: Ev, order: number[]): number[] | undefined => {
    if (order.length === cmds.length) return key(e) === key(final) ? order : undefined;
    const k = `${used}:${key(e)}`;
    if (seen.has(k)) return undefined;
    seen.add(k);
    for (let i = 0; i < cmds.length; i++) {
      if (used & (1 << i)) continue;
      const c = cmds[i]!;
      const next = c.cmd.apply(e, c.hits);
      if (c.ok !== (next !== undefined)) continue;
      const found = go(used | (1 << i), next ?? e, [...order, i]);
      if (found) return found;
    }
    return undefined;
  };
  return go(0, NONE, []);
}

test(`${PROCS} concurrent processes (add, del, enable, disable, run, fs write) on one state directory equal a serial order of them`, async () => {
  const state = freshState();
  const cmds = commands(rng(SEED));
  const t0 = Date.now();
  const outcomes = await Promise.all(cmds.map((c) => run(c.args, state)));
  const wall = Date.now() - t0;
  const s = readState(state);
  // Leftovers: no lock, no temporary file.
  assert.equal(readdirSync(state), [STATE_FILE]);
  const byName = new Map<string, { cmd: Cmd; ok: boolean; hits: number; out: Outcome }[]>();
  for (const [i, c] of cmds.entries()) {
    const o = outcomes[i]!;
    const where = `ktrace ${c.args.join(' ')}: exit ${o.code}, ${JSON.stringify(o.stderr)}`;
    // Success, or the one failure a serial run of this command can give (never a lock timeout).
    assert.ok(o.code === 0 ? o.stderr === '' : o.code === 1 && c.fails.test(o.stderr.split('\n')[0]!), where);
    let hits = 0;
    if (c.args[0] === 'run' && o.code === 0) {
      const m = new RegExp(`^probe:${c.name} +(\\d+) +0$`, 'm').exec(o.stdout);
      assert.ok(m, `${where}: no hit count in ${o.stdout}`);
      hits = Number(m![1]);
      assert.ok(hits > 0, where);
    }
    const list = byName.get(c.name) ?? [];
    list.push({ cmd: c, ok: o.code === 0, hits, out: o });
    byName.set(c.name, list);
    // A run also traces the events enabled when it starts: each other a* event either has a row
    // (it existed and was enabled then: its hits are folded) or not (it was not both then).
    if (c.args[0] === 'run' && o.code === 0) {
      for (const other of ['a0', 'a1']) {
        if (other === c.name) continue;
        const m = new RegExp(`^probe:${other} +(\\d+) +0$`, 'm').exec(o.stdout);
        const h = m ? Number(m[1]) : 0;
        const side: Cmd = { name: other, args: c.args, fails: /(?!)/,
          apply: (e) => (m ? (exists(e) && e.enabled ? { ...e, profile: Object.fromEntries(e.lines.map((l) => [l, (e.profile[l] ?? 0) + h])) } : undefined)
            : (exists(e) && e.enabled ? undefined : e)) };
        const ol = byName.get(other) ?? [];
        ol.push({ cmd: side, ok: true, hits: h, out: o });
        byName.set(other, ol);
      }
    }
  }
  const stored = s.kprobeEvents.split('\n').filter(Boolean);
  const names = new Set(stored.map((l) => /^p:probe\/(\S+) /.exec(l)?.[1] ?? '?'));
  for (const n of names) assert.ok(byName.has(n), `kprobe_events has an event no command made: ${n}`);
  const counted: Record<string, number> = {};
  let ok = 0;
  for (const [name, list] of byName) {
    const lines = stored.filter((l) => l.startsWith(`p:probe/${name} `));
    const final: Ev = {
      lines, enabled: s.enabled.includes(`probe/${name}`),
      // b* and c* events are traced by whichever runs find them enabled: their counters are not modelled.
      profile: name.startsWith('a') ? Object.fromEntries(lines.filter((l) => (s.profile[l]?.[0] ?? 0) > 0).map((l) => [l, s.profile[l]![0]])) : {},
    };
    const order = serialOrder(list, final);
    assert.ok(order, `no serial order of the commands on probe:${name} gives its final state ${JSON.stringify(final)}:\n`
      + list.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ktrace ${c.cmd.args.join(' ')} ${c.ok ? '' : c.out.stderr.split('\n')[0]}`).join('\n'));
    ok += list.filter((c) => c.ok).length;
    counted[name] = list.length;
  }
  if (process.env.KTRACE_DEBUG_CONCURRENT) for (const [i, c] of cmds.entries()) console.log(`${(outcomes[i]!.ms / 1000).toFixed(1)} s exit ${outcomes[i]!.code} ktrace ${c.args.join(' ')}`);
  console.log(`NOTE concurrent state: ${PROCS} processes (${RUNS} runs), ${ok} succeeded, ${PROCS - ok} failed as serially,`
    + ` a serial order found for every event; ${(wall / 1000).toFixed(1)} s wall, slowest command ${(Math.max(...outcomes.map((o) => o.ms)) / 1000).toFixed(1)} s`);
});

test.run();
