// The `ktrace tui` screen: pure ink components over a controller. The controller owns the emulator
// and the state directory (src/cli/commands/tui.ts); these components only read snapshots of it and
// forward keys, so they can be tested with fake data (test/output/tui/app.test.tsx).
import React, { useEffect, useRef, useState } from 'react';
import { Box, Text, useApp, useInput } from 'ink';

export interface ProbeRow {
  /** "group:event". */
  name: string;
  type: 'p' | 'r';
  /** Where it is: "vfs_read+0x0" or an address. */
  where: string;
  /** The kprobes/list tags ("[OPTIMIZED]", "[FTRACE]", "[DISABLED]", "[GONE]"), "" when none. */
  tags: string;
  enabled: boolean;
  hits: number;
  misses: number;
}

export interface MachineInfo {
  workload: string;
  cpus: number;
  instructions: number;
  emulatedNs: number;
  /** Emulated MIPS over the last refresh interval. */
  mips: number;
  kprobesEnabled: boolean;
  optimization: boolean;
  status: 'running' | 'paused' | 'finished';
  /** How the run ended, when finished. */
  end?: string;
}

export interface TuiModel { probes: ProbeRow[]; machine: MachineInfo; message?: string }

export interface TuiController {
  snapshot(): TuiModel;
  togglePause(): void;
  restart(): void;
  /** The same operation as `ktrace enable|disable GROUP:EVENT`, applied live too. */
  setEnabled(name: string, on: boolean): void;
  /** The same operation as `ktrace del GROUP:EVENT`, applied live too. */
  deleteProbe(name: string): void;
  /** Flip /sys/kernel/debug/kprobes/enabled (as `ktrace fs write` would), live and in the state. */
  toggleKprobes(): void;
  /** Flip /proc/sys/debug/kprobes-optimization, live and in the state. */
  toggleOptimization(): void;
  /** The selected probe's definition (its kprobe_events line) and latest trace lines, oldest first. */
  detail(name: string): { definition: string; lines: string[] };
  /** Adds (and enables) a probe from a `ktrace add` spec: an error message, or undefined on success. */
  addProbe(spec: string): string | undefined;
  /** Function names of the image starting with `prefix`, sorted (for completion). */
  complete(prefix: string): string[];
  /** Called once when the user quits, before ink exits. */
  quit(): void;
}

export interface AppProps {
  ctl: TuiController;
  color: boolean;
  /** Screen refresh period in ms (≥10 per second). */
  refreshMs?: number;
  /** Rows available for the probe list. */
  rows?: number;
}

const fmtInt = (n: number) => n.toLocaleString('en-US');

export function fmtNs(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(3)} us`;
  return `${ns} ns`;
}

const cut = (s: string, w: number) => (s.length > w ? s.slice(0, w - 1) + '~' : s.padEnd(w));

export function ProbesPanel({ probes, selected, color, rows = 10 }: { probes: ProbeRow[]; selected: number; color: boolean; rows?: number }) {
  // Keep the selection in view when the list is longer than the panel.
  const start = Math.max(0, Math.min(selected - rows + 1, probes.length - rows, selected));
  const shown = probes.slice(Math.max(0, start), Math.max(0, start) + rows);
  return (
    <Box flexDirection="column" borderStyle="single" paddingX={1}>
      <Text bold={color}>{`Probes (${probes.length})`}</Text>
      <Text>{`  ${cut('EVENT', 22)} T ${cut('WHERE', 18)} ${cut('TAGS', 12)} ${'HITS'.padStart(9)} ${'MISS'.padStart(5)}`}</Text>
      {probes.length === 0 ? <Text>{'  no probe events defined (ktrace add SPEC)'}</Text> : shown.map((p, k) => {
        const i = start + k;
        const tags = (p.enabled ? '' : '[OFF]') + p.tags;
        const line = `${i === selected ? '>' : ' '} ${cut(p.name, 22)} ${p.type} ${cut(p.where, 18)} ${cut(tags, 12)} ${fmtInt(p.hits).padStart(9)} ${fmtInt(p.misses).padStart(5)}`;
        return <Text key={p.name} inverse={color && i === selected} dimColor={color && !p.enabled}>{line}</Text>;
      })}
    </Box>
  );
}

export function MachinePanel({ m, color }: { m: MachineInfo; color: boolean }) {
  const status = m.status === 'finished' ? `finished (${m.end ?? '?'})` : m.status;
  return (
    <Box flexDirection="column" borderStyle="single" paddingX={1}>
      <Text bold={color}>{`Machine: ${m.workload}  ${status}`}</Text>
      <Text>{`CPUs ${m.cpus}   insns ${fmtInt(m.instructions)}   time ${fmtNs(m.emulatedNs)}   ${m.mips.toFixed(1)} MIPS`}</Text>
      <Text>{`kprobes/enabled ${m.kprobesEnabled ? 1 : 0}   debug.kprobes-optimization ${m.optimization ? 1 : 0}`}</Text>
    </Box>
  );
}

export const KEYS: [string, string][] = [
  ['up/down', 'select a probe'], ['a', 'add a probe (ktrace add spec; Tab completes symbols)'], ['e / d', 'enable / disable the selected probe'], ['x', 'delete the selected probe'],
  ['k', 'toggle kprobes/enabled'], ['o', 'toggle the optimization sysctl'], ['p', 'pause / resume'],
  ['r', 'restart the workload'], ['?', 'this help'], ['q, Ctrl-C', 'quit'],
];

export function Footer({ message }: { message?: string }) {
  return <Text>{message ? message : 'q quit  p pause  r restart  a add  e/d on/off  x del  ? help'}</Text>;
}

/** Longest common prefix of candidates. */
export function commonPrefix(xs: string[]): string {
  if (xs.length === 0) return '';
  let p = xs[0]!;
  for (const x of xs) while (!x.startsWith(p)) p = p.slice(0, -1);
  return p;
}

export function AddPrompt({ text, candidates }: { text: string; candidates: string[] }) {
  const more = candidates.length > 4 ? ` (+${candidates.length - 4})` : '';
  return (
    <Box flexDirection="column">
      <Text>{cut(`add probe: ${text}_`, 80)}</Text>
      <Text>{candidates.length ? cut(candidates.slice(0, 4).join('  ') + more, 80) : 'Enter adds, Tab completes, Esc cancels'}</Text>
    </Box>
  );
}

export function DetailPanel({ definition, lines, rows = 3 }: { definition: string; lines: string[]; rows?: number }) {
  const shown = lines.slice(-rows);
  return (
    <Box flexDirection="column" borderStyle="single" paddingX={1}>
      <Text>{cut(definition.trim(), 76)}</Text>
      {shown.length === 0 ? <Text>no trace lines yet</Text> : shown.map((l, i) => <Text key={i}>{cut(l.replace(/\n$/, '').trim(), 76)}</Text>)}
    </Box>
  );
}

export function Help() {
  return (
    <Box flexDirection="column" borderStyle="single" paddingX={1}>
      <Text>Keys</Text>
      {KEYS.map(([k, d]) => <Text key={k}>{`${k.padEnd(10)} ${d}`}</Text>)}
      <Text>Changes are written to the state directory, as `ktrace enable|disable` does.</Text>
    </Box>
  );
}

export function App({ ctl, color, refreshMs = 100, rows = 5 }: AppProps) {
  const { exit } = useApp();
  const [model, setModel] = useState<TuiModel>(() => ctl.snapshot());
  const [selected, setSelectedState] = useState(0);
  const [help, setHelp] = useState(false);
  // Keys can arrive faster than React re-renders (a paste, tmux send-keys): the handler reads the
  // latest prompt text from a ref, not from a possibly stale render's closure.
  const [adding, setAddingState] = useState<string | undefined>(undefined);
  const addingRef = useRef<string | undefined>(undefined);
  const setAdding = (v: string | undefined) => { addingRef.current = v; setAddingState(v); };
  const selRef = useRef(0);
  const [candidates, setCandidates] = useState<string[]>([]);
  const modelRef = useRef(model);
  const refresh = () => { modelRef.current = ctl.snapshot(); setModel(modelRef.current); };
  useEffect(() => {
    const t = setInterval(refresh, refreshMs);
    return () => clearInterval(t);
  }, [ctl, refreshMs]);
  const n = model.probes.length;
  const sel = Math.min(selected, Math.max(0, n - 1));
  useInput((input, key) => {
    const adding = addingRef.current;
    const probes = modelRef.current.probes;
    const n = probes.length;
    const sel = Math.min(selRef.current, Math.max(0, n - 1));
    const setSelected = (v: number) => { selRef.current = v; setSelectedState(v); };
    if ((input === 'q' && adding === undefined) || (key.ctrl && input === 'c')) { ctl.quit(); exit(); return; }
    if (adding !== undefined) {
      if (key.escape) { setAdding(undefined); setCandidates([]); return; }
      // A chunk can hold text and the Enter after it ("vfs_read\r" from a paste or tmux send-keys).
      const nl = input.search(/[\r\n]/);
      if (key.return || nl >= 0) {
        const spec = (key.return ? adding : adding + input.slice(0, nl)).replace(/[\x00-\x1f]/g, '').trim();
        setAdding(undefined);
        setCandidates([]);
        if (spec) {
          const err = ctl.addProbe(spec);
          refresh();
          if (!err) { selRef.current = Math.max(0, ctl.snapshot().probes.length - 1); setSelectedState(selRef.current); }
        }
        return;
      }
      if (key.backspace || key.delete) { setAdding(adding.slice(0, -1)); setCandidates([]); return; }
      if (key.tab) {
        // Only the first word is a symbol (the rest are fetch args).
        if (/\s/.test(adding)) return;
        const c = ctl.complete(adding);
        const p = commonPrefix(c);
        setAdding(c.length === 1 ? c[0]! + ' ' : p.length > adding.length ? p : adding);
        setCandidates(c.length === 1 ? [] : c);
        return;
      }
      if (input && !key.ctrl && !key.meta) setAdding(adding + input.replace(/[\x00-\x1f]/g, ''));
      return;
    }
    if (help) { setHelp(false); return; }
    if (input === '?') setHelp(true);
    else if (input === 'a') { setAdding(''); return; }
    else if (input === 'p') ctl.togglePause();
    else if (input === 'r') ctl.restart();
    else if (key.upArrow) setSelected(Math.max(0, sel - 1));
    else if (key.downArrow) setSelected(Math.min(Math.max(0, n - 1), sel + 1));
    else if (input === 'k') ctl.toggleKprobes();
    else if (input === 'o') ctl.toggleOptimization();
    else if (input === 'x' && n > 0) ctl.deleteProbe(probes[sel]!.name);
    else if ((input === 'e' || input === 'd') && n > 0) ctl.setEnabled(probes[sel]!.name, input === 'e');
    else return;
    refresh();
  });
  return (
    <Box flexDirection="column" width={80}>
      {help ? <Help /> : <ProbesPanel probes={model.probes} selected={sel} color={color} rows={rows} />}
      {!help && n > 0 ? <DetailPanel {...ctl.detail(model.probes[sel]!.name)} /> : null}
      <MachinePanel m={model.machine} color={color} />
      {adding !== undefined ? <AddPrompt text={adding} candidates={candidates} /> : <Footer message={model.message} />}
    </Box>
  );
}
