// Test scaffolding: parsers for the text the oracles print (binutils readelf, llvm-dwarfdump, gdb), the
// generator that runs them, and loaders for the committed (gzipped) outputs. Kept apart from src/dwarf so
// the reader never sees oracle text.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';

export const FIXTURES = new URL('../../../fixtures/dwarf/', import.meta.url).pathname;

export function sha256(bytes: Uint8Array): string { return createHash('sha256').update(bytes).digest('hex'); }

export function hasTool(name: string): boolean {
  try { execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }); return true; } catch { return false; }
}
export const LONG = process.env.KTRACE_LONG === '1';

export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
}
export function readGz(path: string): string { return gunzipSync(readFileSync(path)).toString('utf8'); }
export function writeGz(path: string, text: string): void { writeFileSync(path, gzipSync(text, { level: 9 })); }

// ---------------------------------------------------------------- readelf --debug-dump=decodedline

/** One printed row: file column, line (null for the end-of-sequence "-"), address, stmt flag. */
export interface DecodedRow { file: string; line: number | null; address: bigint; stmt: boolean }

const ROW = /^(\S+)\s+(\d+|-)\s+(0x[0-9a-f]+)(.*)$/;
export function parseDecodedLine(text: string): DecodedRow[] {
  const out: DecodedRow[] = [];
  for (const l of text.split('\n')) {
    const m = ROW.exec(l);
    if (!m) continue;
    const rest = m[4]!.trim().split(/\s+/).filter(Boolean);
    out.push({ file: m[1]!, line: m[2] === '-' ? null : Number(m[2]), address: BigInt(m[3]!), stmt: rest[rest.length - 1] === 'x' });
  }
  return out;
}
/** Keeps only the row lines (what the comparison reads), to keep the committed copy small. */
export function filterDecodedLine(text: string): string {
  return text.split('\n').filter((l) => ROW.test(l)).map((l) => l.replace(/\s+/g, ' ').trim()).join('\n') + '\n';
}

// ---------------------------------------------------------------- readelf --debug-dump=info

export interface InfoFunction {
  offset: number; tag: 'subprogram' | 'inlined'; name: string | undefined;
  lowPc?: bigint; highPc?: bigint; highIsLength?: boolean; rangesOffset?: number; entryPc?: bigint;
}

const DIE_HDR = /^\s*<(\d+)><([0-9a-f]+)>: Abbrev Number: \d+ \((DW_TAG_\w+)\)/;
const ATTR = /^\s*(?:<[0-9a-f]+>\s+)?(DW_AT_\w+)\s*:\s*(.*)$/;
const KEEP_ATTRS = new Set(['DW_AT_name', 'DW_AT_abstract_origin', 'DW_AT_specification', 'DW_AT_low_pc', 'DW_AT_high_pc', 'DW_AT_ranges', 'DW_AT_entry_pc']);

export function filterReadelfInfo(text: string): string {
  const out: string[] = [];
  for (const l of text.split('\n')) {
    if (DIE_HDR.test(l)) { out.push(l.trim()); continue; }
    const m = ATTR.exec(l);
    if (m && KEEP_ATTRS.has(m[1]!)) out.push(`  ${m[1]}: ${m[2]}`);
  }
  return out.join('\n') + '\n';
}

/** Subprogram and inlined-subroutine DIEs with code (low_pc or ranges), names resolved through origins. */
export function parseReadelfInfo(text: string): InfoFunction[] {
  const names = new Map<number, string>();
  const origin = new Map<number, number>();
  const all: InfoFunction[] = [];
  let cur: InfoFunction | null = null, curOff = -1;
  for (const l of text.split('\n')) {
    const h = DIE_HDR.exec(l);
    if (h) {
      curOff = parseInt(h[2]!, 16);
      const tag = h[3] === 'DW_TAG_subprogram' ? 'subprogram' : h[3] === 'DW_TAG_inlined_subroutine' ? 'inlined' : null;
      cur = tag ? { offset: curOff, tag, name: undefined } : null;
      if (cur) all.push(cur);
      continue;
    }
    const m = ATTR.exec(l);
    if (!m) continue;
    const [, at, val] = m as unknown as [string, string, string];
    if (at === 'DW_AT_name') { const i = val.lastIndexOf('): '); names.set(curOff, i >= 0 ? val.slice(i + 3) : val.replace(/^\(\w+\)\s*/, '')); }
    else if (at === 'DW_AT_abstract_origin' || at === 'DW_AT_specification') { const r = /<0x([0-9a-f]+)>/.exec(val); if (r) origin.set(curOff, parseInt(r[1]!, 16)); }
    if (!cur) continue;
    const num = /(0x[0-9a-f]+|\d+)\s*$/.exec(val.replace(/\s*\(location list\)|\s*\(index.*\)/, ''));
    if (at === 'DW_AT_low_pc' && num) cur.lowPc = BigInt(num[1]!);
    else if (at === 'DW_AT_high_pc' && num) { cur.highPc = BigInt(num[1]!); cur.highIsLength = !/\(addr/.test(val); }
    else if (at === 'DW_AT_ranges' && num) cur.rangesOffset = Number(num[1]!);
    else if (at === 'DW_AT_entry_pc' && num) cur.entryPc = BigInt(num[1]!);
  }
  const resolve = (off: number): string | undefined => {
    for (let i = 0, o: number | undefined = off; o !== undefined && i < 16; i++, o = origin.get(o)) {
      const n = names.get(o); if (n !== undefined) return n;
    }
    return undefined;
  };
  for (const f of all) f.name = resolve(f.offset);
  return all.filter((f) => f.lowPc !== undefined || f.rangesOffset !== undefined);
}

// ---------------------------------------------------------------- llvm-dwarfdump --debug-info (DW_AT_ranges)

/** Keeps DIE header lines and DW_AT_ranges blocks. */
export function filterLlvmRanges(text: string): string {
  const out: string[] = [];
  let inRanges = false;
  for (const l of text.split('\n')) {
    if (/^0x[0-9a-f]+:\s+DW_TAG_/.test(l)) { out.push(l.trim()); inRanges = false; continue; }
    if (/DW_AT_ranges\s*\(/.test(l)) { out.push(l.trim()); inRanges = !/\)\)\s*$/.test(l) && !/\)$/.test(l.trim()); continue; }
    if (inRanges) { out.push(l.trim()); if (/\)\)\s*$/.test(l)) inRanges = false; }
  }
  return out.join('\n') + '\n';
}
/** DIE offset → its resolved DW_AT_ranges as [low, high) pairs. */
export function parseLlvmRanges(text: string): Map<number, [bigint, bigint][]> {
  const out = new Map<number, [bigint, bigint][]>();
  let cur = -1, list: [bigint, bigint][] | null = null;
  for (const l of text.split('\n')) {
    const h = /^0x([0-9a-f]+):\s+DW_TAG_/.exec(l);
    if (h) { cur = parseInt(h[1]!, 16); list = null; continue; }
    if (/DW_AT_ranges/.test(l)) { list = []; out.set(cur, list); }
    if (list) for (const m of l.matchAll(/\[(0x[0-9a-f]+), (0x[0-9a-f]+)\)/g)) list.push([BigInt(m[1]!), BigInt(m[2]!)]);
  }
  return out;
}

// ---------------------------------------------------------------- gdb info scope

export interface ScopeSymbol { name: string; sig: string[]; length: number | null }

/** gdb's `info scope` output → function → symbols with a canonical location signature per range. */
export function parseGdbScope(text: string): Map<string, ScopeSymbol[]> & { truncated: Set<string> } {
  const out = Object.assign(new Map<string, ScopeSymbol[]>(), { truncated: new Set<string>() });
  let curName = '';
  let cur: ScopeSymbol[] | null = null;
  // When gdb gives up part-way through a symbol (its error goes to stderr), the next command's output
  // continues on the same line: break it there.
  const chunks = text.replace(/([^\n])(?=Symbol \S+ is |Scope for \S+)/g, '$1\n').split(/\n(?=Symbol |Scope for )/);
  for (const c of chunks) {
    const sc = /^Scope for (\S+?):?(\s+contains no locals or arguments\.)?\s*$/m.exec(c.split('\n')[0]!);
    if (c.startsWith('Scope for ') && sc) { cur = []; curName = sc[1]!; out.set(curName, cur); continue; }
    const sm = /^Symbol (\S+) is ([\s\S]*?)(?:, length (\d+))?\.\s*$/.exec(c.trim());
    if (!cur) continue;
    // gdb 13 stops a whole `info scope` at a location-list entry with an empty range (it prints the
    // "Range A-A: " prefix and nothing more): that symbol and the rest of the function are missing.
    if (!sm) { out.truncated.add(curName); cur = null; continue; }
    const [, name, body, len] = sm as unknown as [string, string, string, string | undefined];
    if (body.startsWith('a label')) continue;
    cur.push({ name, sig: gdbSignature(body), length: len === undefined ? null : Number(len) });
  }
  return out;
}

function gdbSignature(body: string): string[] {
  if (body.startsWith('multi-location:')) {
    const out: string[] = [];
    const parts = body.split(/\n\s*(?:Base address 0x[0-9a-f]+\s+)?Range /).slice(1);
    for (const p of parts) {
      const m = /^(0x[0-9a-f]+)-(0x[0-9a-f]+): ([\s\S]*)$/.exec(p.trim());
      if (!m) { out.push('unparsed:' + p.trim()); continue; }
      out.push(`${BigInt(m[1]!).toString(16)}-${BigInt(m[2]!).toString(16)} ${describeGdb(m[3]!)}`);
    }
    return out;
  }
  return [describeGdb(body)];
}

function describeGdb(d: string): string {
  d = d.trim();
  if (d === '') return 'empty';
  if (/byte piece\]/.test(d)) return 'pieces:' + [...d.matchAll(/\[(\d+)-byte piece\]/g)].map((m) => m[1]).join(',');
  let m = /^a variable in \$(\w+)$/.exec(d);
  if (m) return 'reg:' + m[1];
  m = /^the constant (-?\d+)$/.exec(d);
  if (m) return 'const:' + m[1];
  m = /^(?:in )?static storage at address (0x[0-9a-f]+)$/.exec(d);
  if (m) return 'addr:' + BigInt(m[1]!).toString(16);
  if (d === 'optimized out') return 'optimized-out';
  m = /^a constant with value (-?\d+)/.exec(d);
  if (m) return 'constval:' + m[1];
  if (d.startsWith('a complex DWARF expression')) return 'ops:' + [...d.matchAll(/\d+: (DW_OP_\w+)/g)].map((x) => x[1]).join(',');
  return 'other:' + d.replace(/\s+/g, ' ');
}

export interface OracleManifestEntry { elf: string; sha256: string; tools: string[]; gdbFunctions: string[]; note?: string }

// ---------------------------------------------------------------- readelf --debug-dump=frames-interp

export interface FrameOracle { section: string; low: bigint; high: bigint; columns: string[]; rows: { loc: bigint; cells: string[] }[] }

/** FDEs with their decoded rule tables: LOC, CFA, then one cell per register column ("u", "c-16", ...). */
export function parseFramesInterp(text: string): FrameOracle[] {
  const out: FrameOracle[] = [];
  let section = '', cur: FrameOracle | null = null;
  for (const l of text.split('\n')) {
    const s = /^Contents of the (\S+) section/.exec(l);
    if (s) { section = s[1]!; cur = null; continue; }
    const f = /^[0-9a-f]+ [0-9a-f]+ [0-9a-f]+ FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.([0-9a-f]+)/.exec(l);
    if (f) { cur = { section, low: BigInt('0x' + f[1]), high: BigInt('0x' + f[2]), columns: [], rows: [] }; out.push(cur); continue; }
    if (/ CIE /.test(l)) { cur = null; continue; }
    if (!cur) continue;
    const t = l.trim().split(/\s+/);
    if (t[0] === 'LOC') { cur.columns = t.slice(2); continue; }
    if (t.length >= 2 && t[1] !== 'ZERO' && /^[0-9a-f]{8,16}$/.test(t[0]!)) cur.rows.push({ loc: BigInt('0x' + t[0]), cells: t.slice(1) });
  }
  return out;
}

// ---------------------------------------------------------------- gdb info line *ADDR

/** Address → gdb's answer: `{ line, file }`, or null for "No line number information". */
export function parseGdbInfoLine(text: string): Map<bigint, { line: number; file: string } | null> {
  const out = new Map<bigint, { line: number; file: string } | null>();
  let q: bigint | null = null;
  for (const l of text.split('\n')) {
    const m = /^Q (0x[0-9a-f]+)$/.exec(l);
    if (m) { q = BigInt(m[1]!); continue; }
    if (q === null) continue;
    const a = /^Line (\d+) of "([^"]+)"/.exec(l);
    if (a) { out.set(q, { line: Number(a[1]), file: a[2]! }); q = null; continue; }
    if (/^No line number information/.test(l)) { out.set(q, null); q = null; }
  }
  return out;
}
