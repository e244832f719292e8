// The `ktrace tui` screen: pure ink components over a controller. The controller owns the emulator
// and the state directory (src/cli/commands/tui.ts); these components only read snapshots of it and
// forward keys, so they can be tested with fake data (test/output/tui/app.test.tsx).
import React, { useEffect, useRef, useState } from 'react';
import { Box, Text, useApp, useInput, useStdout, type Key } from 'ink';

export interface ProbeRow {
  /** "group:event". */
  name: string;
  type: 'p' | 'r';
  /** Where it is: "vfs_read+0x0" or an address. */
  where: string;
  /** The kprobes/list tags ("[GONE]", "[DISABLED]", "[OPTIMIZED]", "[FTRACE]"), "" when none. */
  tags: string;
  enabled: boolean;
  hits: number;
  misses: number;
}

export interface MachineInfo {
  workload: string;
  /** Workload progress: system calls its tasks issued, and its tasks still running. */
  syscalls: number;
  tasks: number;
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

export interface HistRow { label: string; count: number }

export interface Histogram {
  field: string;
  /** "values": one row per distinct value, most frequent first; "log2": power-of-two buckets. */
  kind: 'values' | 'log2';
  rows: HistRow[];
  /** How many values were recorded. */
  total: number;
}

export interface ProbeDetail { definition: string; lines: string[]; fields: string[]; hist?: Histogram; /** events/GROUP/EVENT/filter, when one is active. */ filter?: string }

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
  /**
   * The selected probe's definition (its kprobe_events line), latest trace lines (oldest first), the
   * fields a histogram can be drawn of ("$retval" for a return probe, then its numeric fetch args by
   * name) and the histogram of `field` (default: the first field) over the current run.
   */
  detail(name: string, field?: string): ProbeDetail;
  /**
   * Sets the event's filter (the kernel's event filter grammar; empty clears it), as `ktrace fs write
   * events/GROUP/EVENT/filter`, live and in the state: the kernel's error message, or undefined.
   */
  setEventFilter(name: string, expr: string): string | undefined;
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
  /** The terminal's size; default: stdout's, following its resize events. */
  size?: { columns: number; rows: number };
}

const fmtInt = (n: number) => n.toLocaleString('en-US');

export function fmtNs(ns: number): string {
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(3)} us`;
  return `${ns} ns`;
}

const cut = (s: string, w: number) => (s.length > w ? s.slice(0, w - 1) + '~' : s.padEnd(w));

/** Lines taken by everything but the flexible parts: borders, titles, the machine panel, the footer. */
const FIXED_LINES = 15;

export interface Layout {
  /** Screen width in columns (panels' inner width is width - 4). */
  width: number;
  probeRows: number;
  histRows: number;
  lineRows: number;
}

/**
 * How the screen is shared out: 80x24 at least (smaller terminals get the 80x24 layout), one line
 * spare so ink never fills the last row (it would clear and redraw the whole screen each frame),
 * and larger terminals give the probe list, the histogram and the trace lines more rows, and every
 * column more width.
 */
export function layout(columns: number, rows: number): Layout {
  const width = Math.max(80, Math.floor(columns) || 80);
  const flex = Math.max(24, Math.floor(rows) || 24) - 1 - FIXED_LINES;
  const probeRows = Math.max(3, Math.floor(flex * 0.4));
  const histRows = Math.max(3, Math.min(16, Math.floor(flex * 0.3)));
  return { width, probeRows, histRows, lineRows: Math.max(2, flex - probeRows - histRows) };
}

/**
 * Column widths of the probe list for an inner width (76 at 80 columns). The tags column holds
 * "[DISABLED][FTRACE]", the longest pair that occurs together (a disabled probe is never optimized).
 */
function probeColumns(inner: number) {
  const extra = Math.max(0, inner - 76);
  const name = 20 + Math.floor(extra * 0.4), where = 16 + Math.floor(extra * 0.3);
  return { name, where, tags: 18 + Math.min(12, extra - (name - 20) - (where - 16)) };
}

/** Case-insensitive: does the probe's name, location or tags contain `filter`? */
export function matchesFilter(p: ProbeRow, filter: string): boolean {
  const f = filter.toLowerCase();
  return `${p.name} ${p.where} ${p.tags}${p.enabled ? '' : '[OFF]'}`.toLowerCase().includes(f);
}

export function ProbesPanel({ probes, selected, color, rows = 10, width = 80, total, filter }: {
  probes: ProbeRow[]; selected: number; color: boolean; rows?: number; width?: number;
  /** All probes, when `probes` is a filtered view of them. */
  total?: number; filter?: string;
}) {
  const c = probeColumns(width - 4);
  // Keep the selection in view when the list is longer than the panel.
  const start = Math.max(0, Math.min(selected - rows + 1, probes.length - rows, selected));
  const shown = probes.slice(Math.max(0, start), Math.max(0, start) + rows);
  const title = filter ? `Probes (${probes.length} of ${total ?? probes.length} matching "${filter}")` : `Probes (${probes.length})`;
  return (
    <Box flexDirection="column" borderStyle="single" paddingX={1} width={width}>
      <Text bold={color}>{cut(title, width - 4)}</Text>
      <Text>{`  ${cut('EVENT', c.name)} T ${cut('WHERE', c.where)} ${cut('TAGS', c.tags)} ${'HITS'.padStart(9)} ${'MISS'.padStart(5)}`}</Text>
      {probes.length === 0 ? <Text>{filter ? '  no probe matches the filter (Esc clears it)' : '  no probe events defined (a adds one)'}</Text> : shown.map((p, k) => {
        const i = start + k;
        // A disabled event's kprobe says [DISABLED] itself once registered; [OFF] covers the rest.
        const tags = (p.enabled || p.tags.includes('[DISABLED]') ? '' : '[OFF]') + p.tags;
        const line = `${i === selected ? '>' : ' '} ${cut(p.name, c.name)} ${p.type} ${cut(p.where, c.where)} ${cut(tags, c.tags)} ${fmtInt(p.hits).padStart(9)} ${fmtInt(p.misses).padStart(5)}`;
        return <Text key={`${p.name} ${p.where}`} inverse={color && i === selected} dimColor={color && !p.enabled}>{line}</Text>;
      })}
    </Box>
  );
}

export function MachinePanel({ m, color, width = 80 }: { m: MachineInfo; color: boolean; width?: number }) {
  const status = m.status === 'finished' ? `finished (${m.end ?? '?'})` : m.status;
  const inner = width - 4;
  return (
    <Box flexDirection="column" borderStyle="single" paddingX={1} width={width}>
      <Text bold={color}>{cut(`Machine: ${m.workload}  ${status}  ${fmtInt(m.syscalls)} system calls${m.status === 'finished' ? '' : `  ${m.tasks} task${m.tasks === 1 ? '' : 's'} running`}`, inner)}</Text>
      <Text>{cut(`CPUs ${m.cpus}  insns ${fmtInt(m.instructions)}  time ${fmtNs(m.emulatedNs)}  ${m.mips.toFixed(1)} MIPS`, inner)}</Text>
      <Text>{cut(`kprobes/enabled ${m.kprobesEnabled ? 1 : 0}  debug.kprobes-optimization ${m.optimization ? 1 : 0}`, inner)}</Text>
    </Box>
  );
}

export const KEYS: [string, string][] = [
  ['up/down', 'select a probe (PgUp/PgDn, Home/End jump)'], ['a', 'add a probe (ktrace add spec; Tab completes symbols)'],
  ['e / d', 'enable / disable the selected probe'], ['x', 'delete the selected probe (asks: y deletes it)'],
  ['h', 'histogram of the next field: $retval, then each numeric fetch arg'],
  ['/', 'filter the probe list (Esc clears the filter)'], ['f', "the selected event's kernel filter (count > 100)"],
  ['k', 'toggle kprobes/enabled'], ['o', 'toggle the optimization sysctl'], ['p', 'pause / resume'],
  ['r', 'restart the workload'], ['?', 'this help'], ['q, Ctrl-C', 'quit'],
];

export function Footer({ message, width = 80 }: { message?: string; width?: number }) {
  return <Text>{cut(message ? message : 'q quit  p pause  r restart  a add  e/d on/off  x del  h hist  / filter  ? help', width)}</Text>;
}

/** Longest common prefix of candidates. */
export function commonPrefix(xs: string[]): string {
  if (xs.length === 0) return '';
  let p = xs[0]!;
  for (const x of xs) while (!x.startsWith(p)) p = p.slice(0, -1);
  return p;
}

export function AddPrompt({ text, candidates, width = 80 }: { text: string; candidates: string[]; width?: number }) {
  const more = candidates.length > 4 ? ` (+${candidates.length - 4})` : '';
  return (
    <Box flexDirection="column">
      <Text>{cut(`add probe: ${text}_`, width)}</Text>
      <Text>{candidates.length ? cut(candidates.slice(0, 4).join('  ') + more, width) : 'Enter adds, Tab completes, Esc cancels'}</Text>
    </Box>
  );
}

export function EventFilterPrompt({ name, text, width = 80 }: { name: string; text: string; width?: number }) {
  return (
    <Box flexDirection="column">
      <Text>{cut(`filter ${name}: ${text}_`, width)}</Text>
      <Text>{cut("the kernel's event filter (count > 100 && comm == \"cat\"); Enter sets it, empty clears, Esc cancels", width)}</Text>
    </Box>
  );
}

export function FilterPrompt({ text, width = 80 }: { text: string; width?: number }) {
  return (
    <Box flexDirection="column">
      <Text>{cut(`filter: ${text}_`, width)}</Text>
      <Text>Enter keeps the filter, Esc clears it</Text>
    </Box>
  );
}

/**
 * The histogram's visible rows: at most `rows` of them. Distinct values are already most frequent
 * first; of power-of-two buckets the window of consecutive buckets with the most values is kept.
 */
function visibleRows(h: Histogram, rows: number): HistRow[] {
  if (h.rows.length <= rows || h.kind === 'values') return h.rows.slice(0, rows);
  let best = 0, sum = 0, bestSum = -1;
  for (let i = 0; i < h.rows.length; i++) {
    sum += h.rows[i]!.count - (i >= rows ? h.rows[i - rows]!.count : 0);
    if (i >= rows - 1 && sum > bestSum) { bestSum = sum; best = i - rows + 1; }
  }
  return h.rows.slice(best, best + rows);
}

export function HistogramPanel({ hist, fields, rows = 4, width = 80 }: { hist?: Histogram; fields: string[]; rows?: number; width?: number }) {
  const inner = width - 4;
  if (!hist) {
    return <Text>{cut('no histogram: add a return probe or a numeric fetch arg (e.g. vfs_read count=%dx:u64)', inner)}</Text>;
  }
  const shown = visibleRows(hist, rows);
  const hidden = hist.rows.length - shown.length;
  const what = hist.kind === 'values' ? 'values' : 'log2';
  const others = fields.length > 1 ? `   h: ${fields.join(' | ')}` : '';
  const title = `@${hist.field.replace(/^\$/, '')} (${what}, ${fmtInt(hist.total)} recorded${hidden ? `, ${hidden} more row${hidden > 1 ? 's' : ''}` : ''})${others}`;
  const lw = Math.max(16, ...shown.map((r) => r.label.length));
  const barW = Math.max(8, inner - lw - 1 - 9 - 3);
  const max = Math.max(1, ...hist.rows.map((r) => r.count));
  return (
    <Box flexDirection="column">
      <Text>{cut(title, inner)}</Text>
      {shown.length === 0 ? <Text>no values yet</Text> : shown.map((r, i) => (
        <Text key={i}>{`${cut(r.label, lw)} ${String(r.count).padStart(9)} |${'@'.repeat(Math.floor((r.count * barW) / max)).padEnd(barW)}|`}</Text>
      ))}
    </Box>
  );
}

export function DetailPanel({ definition, lines, rows = 3, width = 80, children }: { definition: string; lines: string[]; rows?: number; width?: number; children?: React.ReactNode }) {
  const shown = lines.slice(-rows);
  const inner = width - 4;
  return (
    <Box flexDirection="column" borderStyle="single" paddingX={1} width={width}>
      <Text>{cut(definition.trim(), inner)}</Text>
      {children}
      {shown.length === 0 ? <Text>no trace lines yet</Text> : shown.map((l, i) => <Text key={i}>{cut(l.replace(/\n$/, '').trim(), inner)}</Text>)}
    </Box>
  );
}

export function Help({ width = 80 }: { width?: number }) {
  return (
    <Box flexDirection="column" borderStyle="single" paddingX={1} width={width}>
      <Text>Keys</Text>
      {KEYS.map(([k, d]) => <Text key={k}>{cut(`${k.padEnd(10)} ${d}`, width - 4)}</Text>)}
      <Text>Changes are written to the state directory, as `ktrace enable|disable` does.</Text>
    </Box>
  );
}

/** The terminal's size, following resize events (the size prop wins: tests pass it). */
function useTerminalSize(fixed?: { columns: number; rows: number }) {
  const { stdout } = useStdout();
  const read = () => fixed ?? { columns: stdout.columns || 80, rows: stdout.rows || 24 };
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (fixed) { setSize(fixed); return; }
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => { stdout.off('resize', onResize); };
  }, [stdout, fixed?.columns, fixed?.rows]);
  return size;
}

type PromptState = { kind: 'add' | 'filter'; text: string } | { kind: 'event-filter'; name: string; text: string } | undefined;
type Confirm = { name: string; row: ProbeRow } | undefined;

/** The question `x` asks before deleting an event. */
export function confirmQuestion(p: ProbeRow): string {
  return `delete ${p.name} (${p.enabled ? 'enabled' : 'disabled'}, ${fmtInt(p.hits)} hits)? y deletes it, any other key keeps it`;
}

/**
 * The keys in one input chunk, in order. ink hands over a run of plain characters as one input
 * (escape sequences come apart already): each character becomes its own key here, with the flags
 * ink gives that character alone (Enter, Tab, Backspace, Ctrl-C; other control characters are
 * dropped), so `qq`, `dd`, `/pipe` or a pasted spec with its Enter act as if typed one by one.
 */
export function keypresses(input: string, key: Key): [string, Key][] {
  const chars = [...input];
  if (chars.length <= 1 || key.ctrl || key.meta) return [[input, key]];
  const plain: Key = { ...key, return: false, tab: false, backspace: false, delete: false, escape: false, shift: false };
  const out: [string, Key][] = [];
  for (const ch of chars) {
    if (ch === '\r' || ch === '\n') out.push(['', { ...plain, return: true }]);
    else if (ch === '\t') out.push(['', { ...plain, tab: true }]);
    else if (ch === '\x7f' || ch === '\b') out.push(['', { ...plain, backspace: true }]);
    else if (ch === '\x03') out.push(['c', { ...plain, ctrl: true }]);
    else if (ch < ' ') continue;
    else out.push([ch, { ...plain, shift: /[A-Z]/.test(ch) }]);
  }
  return out;
}

export function App({ ctl, color, refreshMs = 100, size }: AppProps) {
  const { exit } = useApp();
  const term = useTerminalSize(size);
  const lay = layout(term.columns, term.rows);
  const [model, setModel] = useState<TuiModel>(() => ctl.snapshot());
  const [selected, setSelectedState] = useState(0);
  const [help, setHelpState] = useState(false);
  const helpRef = useRef(false);
  const setHelp = (v: boolean) => { helpRef.current = v; setHelpState(v); };
  // `x` asks before it deletes; the answer, or a key that kept the event, shows in the footer.
  const [confirm, setConfirmState] = useState<Confirm>(undefined);
  const confirmRef = useRef<Confirm>(undefined);
  const setConfirm = (v: Confirm) => { confirmRef.current = v; setConfirmState(v); };
  const [notice, setNoticeState] = useState<string | undefined>(undefined);
  const noticeRef = useRef<string | undefined>(undefined);
  const setNotice = (v: string | undefined) => { noticeRef.current = v; setNoticeState(v); };
  // Keys can arrive faster than React re-renders (a paste, tmux send-keys): the handler reads the
  // latest prompt, filter and selection from refs, not from a possibly stale render's closure.
  const [prompt, setPromptState] = useState<PromptState>(undefined);
  const promptRef = useRef<PromptState>(undefined);
  const setPrompt = (v: PromptState) => { promptRef.current = v; setPromptState(v); };
  const [filter, setFilterState] = useState('');
  const filterRef = useRef('');
  const setFilter = (v: string) => { filterRef.current = v; setFilterState(v); };
  // The histogram's field per probe, as chosen with h.
  const [fieldOf, setFieldOfState] = useState<Record<string, string>>({});
  const fieldOfRef = useRef<Record<string, string>>({});
  const setFieldOf = (v: Record<string, string>) => { fieldOfRef.current = v; setFieldOfState(v); };
  const selRef = useRef(0);
  const [candidates, setCandidates] = useState<string[]>([]);
  const modelRef = useRef(model);
  const refresh = () => { modelRef.current = ctl.snapshot(); setModel(modelRef.current); };
  useEffect(() => {
    const t = setInterval(refresh, refreshMs);
    return () => clearInterval(t);
  }, [ctl, refreshMs]);
  const visible = (probes: ProbeRow[], f: string) => (f ? probes.filter((p) => matchesFilter(p, f)) : probes);
  const shownProbes = visible(model.probes, filter);
  const n = shownProbes.length;
  const sel = Math.min(selected, Math.max(0, n - 1));
  // One input chunk can hold many keys (fast typing, a paste, tmux send-keys: `qq`, `/pipe`, `dd`):
  // each is taken in order, as if typed one at a time, against the state the previous one left.
  useInput((input, key) => { for (const [ch, k] of keypresses(input, key)) press(ch, k); });
  // After quitting, the rest of a chunk (`qq`) is not acted on.
  const quitted = useRef(false);
  const quit = () => { quitted.current = true; ctl.quit(); exit(); };
  const press = (input: string, key: Key) => {
    if (quitted.current) return;
    const prompt = promptRef.current;
    const probes = visible(modelRef.current.probes, filterRef.current);
    const n = probes.length;
    const sel = Math.min(selRef.current, Math.max(0, n - 1));
    const setSelected = (v: number) => { selRef.current = v; setSelectedState(v); };
    if (key.ctrl && input === 'c') { quit(); return; }
    if (noticeRef.current !== undefined) setNotice(undefined);
    const confirm = confirmRef.current;
    if (confirm !== undefined) {
      // The delete question takes exactly one key: y deletes, any other keeps the event.
      setConfirm(undefined);
      if (input === 'y' || input === 'Y') { ctl.deleteProbe(confirm.name); refresh(); } else setNotice(`kept ${confirm.name}`);
      return;
    }
    if (input === 'q' && prompt === undefined) { quit(); return; }
    if (prompt !== undefined) {
      const edit = (text: string) => {
        setPrompt({ ...prompt, text });
        if (prompt.kind === 'filter') { setFilter(text); setSelected(0); }
      };
      if (key.escape) {
        setPrompt(undefined); setCandidates([]);
        if (prompt.kind === 'filter') setFilter('');
        return;
      }
      if (key.backspace || key.delete) { edit(prompt.text.slice(0, -1)); setCandidates([]); return; }
      if (key.return) {
        const text = prompt.text.trim();
        setPrompt(undefined);
        setCandidates([]);
        if (prompt.kind === 'filter') { setFilter(text); return; }
        if (prompt.kind === 'event-filter') { const err = ctl.setEventFilter(prompt.name, text); if (err) setNotice(err); refresh(); return; }
        if (!text) return;
        const err = ctl.addProbe(text);
        refresh();
        if (!err) {
          // Select the new probe (the last one), clearing a filter that would hide it.
          const all = modelRef.current.probes;
          const f = filterRef.current && !matchesFilter(all[all.length - 1]!, filterRef.current) ? '' : filterRef.current;
          setFilter(f);
          setSelected(Math.max(0, visible(all, f).length - 1));
        }
        return;
      }
      if (key.tab) {
        // Only the add prompt completes, and only its first word (a symbol; the rest are fetch args).
        const text = prompt.text;
        if (prompt.kind !== 'add' || /\s/.test(text)) return;
        const c = ctl.complete(text);
        const p = commonPrefix(c);
        edit(c.length === 1 ? c[0]! + ' ' : p.length > text.length ? p : text);
        setCandidates(c.length === 1 ? [] : c);
        return;
      }
      if (!key.ctrl && !key.meta && input >= ' ') edit(prompt.text + input);
      return;
    }
    if (helpRef.current) { setHelp(false); return; }
    const page = lay.probeRows;
    if (input === '?') setHelp(true);
    else if (input === 'a') { setPrompt({ kind: 'add', text: '' }); return; }
    else if (input === '/') { setPrompt({ kind: 'filter', text: filterRef.current }); return; }
    else if (input === 'f' && n > 0) { const name = probes[sel]!.name; setPrompt({ kind: 'event-filter', name, text: ctl.detail(name).filter ?? '' }); return; }
    else if (key.escape && filterRef.current) { setFilter(''); setSelected(0); }
    else if (input === 'p') ctl.togglePause();
    else if (input === 'r') ctl.restart();
    else if (key.upArrow) setSelected(Math.max(0, sel - 1));
    else if (key.downArrow) setSelected(Math.min(Math.max(0, n - 1), sel + 1));
    else if (key.pageUp) setSelected(Math.max(0, sel - page));
    else if (key.pageDown) setSelected(Math.min(Math.max(0, n - 1), sel + page));
    else if (key.home) setSelected(0);
    else if (key.end) setSelected(Math.max(0, n - 1));
    else if (input === 'k') ctl.toggleKprobes();
    else if (input === 'o') ctl.toggleOptimization();
    else if (input === 'h' && n > 0) {
      const name = probes[sel]!.name;
      const d = ctl.detail(name, fieldOfRef.current[name]);
      if (d.fields.length > 1) {
        const cur = d.hist ? d.fields.indexOf(d.hist.field) : -1;
        setFieldOf({ ...fieldOfRef.current, [name]: d.fields[(cur + 1) % d.fields.length]! });
      }
    } else if (input === 'x' && n > 0) { setConfirm({ name: probes[sel]!.name, row: probes[sel]! }); return; }
    else if ((input === 'e' || input === 'd') && n > 0) ctl.setEnabled(probes[sel]!.name, input === 'e');
    else return;
    refresh();
  };
  const d = !help && n > 0 ? ctl.detail(shownProbes[sel]!.name, fieldOf[shownProbes[sel]!.name]) : undefined;
  return (
    <Box flexDirection="column" width={lay.width}>
      {help ? <Help width={lay.width} /> : <ProbesPanel probes={shownProbes} selected={sel} color={color} rows={lay.probeRows} width={lay.width} total={model.probes.length} filter={filter} />}
      {d ? (
        <DetailPanel definition={d.filter ? `${d.definition.trim()}  if ${d.filter}` : d.definition} lines={d.lines} rows={lay.lineRows} width={lay.width}>
          <HistogramPanel hist={d.hist} fields={d.fields} rows={lay.histRows} width={lay.width} />
        </DetailPanel>
      ) : null}
      <MachinePanel m={model.machine} color={color} width={lay.width} />
      {prompt?.kind === 'add' ? <AddPrompt text={prompt.text} candidates={candidates} width={lay.width} />
        : prompt?.kind === 'filter' ? <FilterPrompt text={prompt.text} width={lay.width} />
        : prompt?.kind === 'event-filter' ? <EventFilterPrompt name={prompt.name} text={prompt.text} width={lay.width} />
        : <Footer message={confirm ? confirmQuestion(confirm.row) : notice ?? model.message} width={lay.width} />}
    </Box>
  );
}
