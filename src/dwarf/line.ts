// .debug_line (DWARF 5 §6.2, DWARF 4 §6.2): the program header, the line-number program's instructions
// (decoded by `decodeLineInstruction`) and the state machine that turns them into rows (`LineProgram.rows`).
// Decoding and execution are separate, as in gimli's `LineInstruction` / `LineRows`.
import { DW_FORM, DW_LNCT, DW_LNE, DW_LNS } from './constants.js';
import { fail } from './error.js';
import type { DebugLineOffset } from './offsets.js';
import { Reader } from './reader.js';

export interface LineFile {
  /** The file name as recorded (DW_LNCT_path / the v4 file entry name). */
  readonly name: string;
  readonly dirIndex: number;
  /** The directory, resolved against the compilation directory when relative. */
  readonly dir: string;
}

export interface LineHeader {
  readonly offset: DebugLineOffset;
  readonly version: number;
  readonly addrSize: number;
  readonly minInstLength: number;
  readonly maxOpsPerInst: number;
  readonly defaultIsStmt: boolean;
  readonly lineBase: number;
  readonly lineRange: number;
  readonly opcodeBase: number;
  readonly standardOpcodeLengths: readonly number[];
  readonly dirs: readonly string[];
  readonly files: LineFile[];
  readonly programStart: number;
  readonly programEnd: number;
}

export interface LineRow {
  readonly address: number;
  readonly opIndex: number;
  /** File index as the program wrote it (1-based before DWARF 5, 0-based from 5). */
  readonly file: number;
  readonly line: number;
  readonly column: number;
  readonly isStmt: boolean;
  readonly basicBlock: boolean;
  readonly endSequence: boolean;
  readonly prologueEnd: boolean;
  readonly epilogueBegin: boolean;
  readonly discriminator: number;
}

export interface StringSections {
  readonly str: (offset: number) => string;
  readonly lineStr: (offset: number) => string;
  /** DW_FORM_strx* in entry formats; only valid with a unit's str_offsets_base. */
  readonly strx?: (index: number) => string;
}

export function parseLineHeader(buf: Uint8Array, offset: DebugLineOffset, compDir: string, strings: StringSections, cuAddrSize = 8): LineHeader {
  if (offset < 0 || offset >= buf.length) fail('.debug_line', offset, 'line program offset outside section');
  const r = new Reader(buf, '.debug_line', offset);
  const [length, offsetSize] = r.initialLength();
  if (length > r.remaining) fail('.debug_line', offset, 'line program length runs past the section');
  const end = r.pos + length;
  r.end = end;
  const version = r.u16();
  if (version < 2 || version > 5) fail('.debug_line', offset, `unsupported line table version ${version}`);
  let addrSize = cuAddrSize;
  if (version >= 5) {
    addrSize = r.u8();
    const segSel = r.u8();
    if (segSel !== 0) fail('.debug_line', r.pos - 1, 'segmented addresses are not supported');
  }
  const headerLength = r.offset(offsetSize);
  const programStart = r.pos + headerLength;
  if (programStart > end) fail('.debug_line', r.pos, 'header_length runs past the program');
  const minInstLength = r.u8();
  const maxOpsPerInst = version >= 4 ? r.u8() : 1;
  if (maxOpsPerInst === 0) fail('.debug_line', r.pos - 1, 'maximum_operations_per_instruction is 0');
  const defaultIsStmt = r.u8() !== 0;
  const lineBase = r.i8();
  const lineRange = r.u8();
  if (lineRange === 0) fail('.debug_line', r.pos - 1, 'line_range is 0');
  const opcodeBase = r.u8();
  const standardOpcodeLengths: number[] = [];
  for (let i = 1; i < opcodeBase; i++) standardOpcodeLengths.push(r.u8());
  const dirs: string[] = [];
  const files: LineFile[] = [];
  const resolveDir = (i: number): string => {
    const d = dirs[i] ?? '';
    if (i === 0 && version < 5) return compDir;
    return d.startsWith('/') || !compDir ? d : d === '' ? compDir : `${compDir}/${d}`;
  };
  if (version >= 5) {
    // Each entry's DW_LNCT_path and DW_LNCT_directory_index (the last of each, as a map of the entry
    // would keep); other content types are read past.
    const readEntries = (what: string, onEntry: (path: number | string | undefined, dir: number | string | undefined) => void) => {
      const formatCount = r.u8();
      const types: number[] = [], forms: number[] = [];
      for (let i = 0; i < formatCount; i++) { types.push(r.uleb()); forms.push(r.uleb()); }
      const count = r.uleb();
      if (count > r.remaining) fail('.debug_line', r.pos, `${what} count ${count} exceeds the header`);
      for (let i = 0; i < count; i++) {
        let path: number | string | undefined, dir: number | string | undefined;
        for (let k = 0; k < formatCount; k++) {
          const v = readEntryValue(r, forms[k]!, offsetSize, strings);
          if (types[k] === DW_LNCT.path) path = v; else if (types[k] === DW_LNCT.directory_index) dir = v;
        }
        onEntry(path, dir);
      }
    };
    readEntries('directory', (path) => dirs.push(String(path ?? '')));
    readEntries('file', (path, dir) => {
      const dirIndex = Number(dir ?? 0);
      files.push({ name: String(path ?? ''), dirIndex, dir: resolveDir(dirIndex) });
    });
  } else {
    for (;;) { const d = r.cstr(); if (d === '') break; dirs.push(d); }
    // v2-4 directory indexes are 1-based (0 = compilation directory): shift so dirs[i-1] is entry i.
    dirs.unshift(compDir);
    for (;;) {
      const name = r.cstr();
      if (name === '') break;
      const dirIndex = r.uleb(); r.uleb(); r.uleb();
      files.push({ name, dirIndex, dir: resolveDir(dirIndex) });
    }
  }
  return {
    offset, version, addrSize, minInstLength, maxOpsPerInst, defaultIsStmt, lineBase, lineRange, opcodeBase,
    standardOpcodeLengths, dirs, files, programStart, programEnd: end,
  };
}

function readEntryValue(r: Reader, form: number, offsetSize: 4 | 8, s: StringSections): number | string {
  switch (form) {
    case DW_FORM.string: return r.cstr();
    case DW_FORM.line_strp: return s.lineStr(r.offset(offsetSize));
    case DW_FORM.strp: return s.str(r.offset(offsetSize));
    case DW_FORM.strx: case DW_FORM.strx1: case DW_FORM.strx2: case DW_FORM.strx3: case DW_FORM.strx4: {
      const i = form === DW_FORM.strx ? r.uleb() : form === DW_FORM.strx1 ? r.u8() : form === DW_FORM.strx2 ? r.u16() : form === DW_FORM.strx3 ? r.u24() : r.u32();
      if (!s.strx) fail('.debug_line', r.pos, 'DW_FORM_strx without a string offsets table');
      return s.strx(i);
    }
    case DW_FORM.udata: return r.uleb();
    case DW_FORM.data1: return r.u8();
    case DW_FORM.data2: return r.u16();
    case DW_FORM.data4: return r.u32();
    case DW_FORM.data8: return r.u64();
    case DW_FORM.data16: r.skip(16); return 0;
    case DW_FORM.block: r.skip(r.uleb()); return 0;
    default: return fail('.debug_line', r.pos, `unsupported entry format form 0x${form.toString(16)}`);
  }
}

/** One decoded line-number program instruction. */
export type LineInstruction =
  | { op: 'special'; opcode: number }
  | { op: 'copy' } | { op: 'advance_pc'; n: number } | { op: 'advance_line'; n: number }
  | { op: 'set_file'; n: number } | { op: 'set_column'; n: number } | { op: 'negate_stmt' }
  | { op: 'set_basic_block' } | { op: 'const_add_pc' } | { op: 'fixed_advance_pc'; n: number }
  | { op: 'set_prologue_end' } | { op: 'set_epilogue_begin' } | { op: 'set_isa'; n: number }
  | { op: 'end_sequence' } | { op: 'set_address'; address: number } | { op: 'define_file'; file: LineFile }
  | { op: 'set_discriminator'; n: number } | { op: 'unknown' };

export function decodeLineInstruction(r: Reader, h: LineHeader): LineInstruction {
  const opcode = r.u8();
  if (opcode >= h.opcodeBase) return { op: 'special', opcode };
  if (opcode === 0) {
    const len = r.uleb();
    if (len === 0) fail('.debug_line', r.pos, 'extended opcode of length 0');
    const body = r.sub(len);
    const ext = body.u8();
    switch (ext) {
      case DW_LNE.end_sequence: return { op: 'end_sequence' };
      case DW_LNE.set_address: return { op: 'set_address', address: body.address(len - 1) };
      case DW_LNE.define_file: {
        const name = body.cstr(), dirIndex = body.uleb();
        return { op: 'define_file', file: { name, dirIndex, dir: h.dirs[dirIndex] ?? '' } };
      }
      case DW_LNE.set_discriminator: return { op: 'set_discriminator', n: body.uleb() };
      default: return { op: 'unknown' }; // skipped by length, as the standard requires
    }
  }
  switch (opcode) {
    case DW_LNS.copy: return { op: 'copy' };
    case DW_LNS.advance_pc: return { op: 'advance_pc', n: r.uleb() };
    case DW_LNS.advance_line: return { op: 'advance_line', n: r.sleb() };
    case DW_LNS.set_file: return { op: 'set_file', n: r.uleb() };
    case DW_LNS.set_column: return { op: 'set_column', n: r.uleb() };
    case DW_LNS.negate_stmt: return { op: 'negate_stmt' };
    case DW_LNS.set_basic_block: return { op: 'set_basic_block' };
    case DW_LNS.const_add_pc: return { op: 'const_add_pc' };
    case DW_LNS.fixed_advance_pc: return { op: 'fixed_advance_pc', n: r.u16() };
    case DW_LNS.set_prologue_end: return { op: 'set_prologue_end' };
    case DW_LNS.set_epilogue_begin: return { op: 'set_epilogue_begin' };
    case DW_LNS.set_isa: return { op: 'set_isa', n: r.uleb() };
    default: {
      // A standard opcode this reader doesn't know: skip its ULEB operands (header says how many).
      const n = h.standardOpcodeLengths[opcode - 1] ?? 0;
      for (let i = 0; i < n; i++) r.uleb();
      return { op: 'unknown' };
    }
  }
}

/** The line-number state machine (DWARF 5 §6.2.2). */
export class LineProgram {
  private rowsCache: LineRow[] | null = null;
  constructor(readonly header: LineHeader, private readonly buf: Uint8Array) {}

  /** All rows in program order (computed once). Sequences end with an endSequence row. */
  rows(): LineRow[] {
    if (this.rowsCache) return this.rowsCache;
    const h = this.header;
    const r = new Reader(this.buf, '.debug_line', h.programStart, h.programEnd);
    const rows: LineRow[] = [];
    let address = 0, opIndex = 0, file = 1, line = 1, column = 0, isStmt = h.defaultIsStmt;
    let basicBlock = false, prologueEnd = false, epilogueBegin = false, discriminator = 0;
    const { opcodeBase, lineRange, lineBase, minInstLength, maxOpsPerInst } = h;
    const advance = (operationAdvance: number) => {
      const t = opIndex + operationAdvance;
      address += minInstLength * Math.floor(t / maxOpsPerInst);
      opIndex = t % maxOpsPerInst;
    };
    // The common instructions are decoded here without an instruction object (a cold process runs this
    // loop in V8's interpreter, for every row of a unit: ~6,000 for fs/read_write.c); the others go
    // through decodeLineInstruction. Each instruction consumes at least one byte: bounded by the length.
    const buf = this.buf, end = h.programEnd;
    const simple = maxOpsPerInst === 1;
    while (r.pos < end) {
      const op = buf[r.pos]!;
      if (op >= opcodeBase) {
        r.pos++;
        const adj = op - opcodeBase;
        if (simple) address += minInstLength * Math.floor(adj / lineRange);
        else advance(Math.floor(adj / lineRange));
        line += lineBase + (adj % lineRange);
      } else if (op === DW_LNS.copy) {
        r.pos++;
      } else if (op === DW_LNS.advance_pc) {
        r.pos++;
        const n = r.uleb();
        if (simple) address += minInstLength * n; else advance(n);
        continue;
      } else if (op === DW_LNS.advance_line) {
        r.pos++; line += r.sleb(); continue;
      } else if (op === DW_LNS.set_file) {
        r.pos++; file = r.uleb(); continue;
      } else if (op === DW_LNS.set_column) {
        r.pos++; column = r.uleb(); continue;
      } else if (op === DW_LNS.negate_stmt) {
        r.pos++; isStmt = !isStmt; continue;
      } else if (op === DW_LNS.const_add_pc) {
        r.pos++;
        const n = Math.floor((255 - opcodeBase) / lineRange);
        if (simple) address += minInstLength * n; else advance(n);
        continue;
      } else {
        const ins = decodeLineInstruction(r, h);
        switch (ins.op) {
          case 'set_basic_block': basicBlock = true; continue;
          case 'fixed_advance_pc': address += ins.n; opIndex = 0; continue;
          case 'set_prologue_end': prologueEnd = true; continue;
          case 'set_epilogue_begin': epilogueBegin = true; continue;
          case 'set_address': address = ins.address; opIndex = 0; continue;
          case 'define_file': h.files.push(ins.file); continue;
          case 'set_discriminator': discriminator = ins.n; continue;
          case 'end_sequence':
            rows.push({ address, opIndex, file, line, column, isStmt, basicBlock, endSequence: true, prologueEnd, epilogueBegin, discriminator });
            address = 0; opIndex = 0; file = 1; line = 1; column = 0; isStmt = h.defaultIsStmt;
            basicBlock = false; prologueEnd = false; epilogueBegin = false; discriminator = 0;
            continue;
          default: continue; // set_isa, unknown standard or extended opcodes: no row
        }
      }
      // A special opcode or DW_LNS_copy: a row.
      rows.push({ address, opIndex, file, line, column, isStmt, basicBlock, endSequence: false, prologueEnd, epilogueBegin, discriminator });
      basicBlock = false; prologueEnd = false; epilogueBegin = false; discriminator = 0;
    }
    this.rowsCache = rows;
    return rows;
  }

  private seqCache: { low: number; high: number; start: number; end: number }[] | null = null;

  /** Sequences (row index ranges, end row excluded) sorted by start address: an index for PC lookups. */
  sequences(): readonly { low: number; high: number; start: number; end: number }[] {
    if (this.seqCache) return this.seqCache;
    const rows = this.rows();
    const out: { low: number; high: number; start: number; end: number }[] = [];
    let start = 0;
    for (let i = 0; i < rows.length; i++) {
      if (!rows[i]!.endSequence) continue;
      if (i > start) out.push({ low: rows[start]!.address, high: rows[i]!.address, start, end: i });
      start = i + 1;
    }
    out.sort((a, b) => a.low - b.low);
    this.seqCache = out;
    return out;
  }

  private monotone: boolean | null = null;

  /**
   * The row perf reads back at `addr` (libdw's address-sorted rows, as perf's cu_getsrc_die uses them):
   * when rows lie at `addr` itself, the first statement row among them (program order); else the last
   * row at the highest address below it, when it is a statement row. Found by bisecting each sequence
   * (a sequence's addresses only grow), not by sorting every row of the unit; a program whose sequences
   * do not grow, or with rows after its last sequence, is sorted instead.
   */
  statementAt(addr: number): LineRow | undefined {
    const rows = this.rows();
    const seqs = this.sequences();
    if (this.monotone === null) {
      let ok = seqs.reduce((n, q) => n + (q.end - q.start) + 1, 0) === rows.length || rows.length === 0;
      for (const q of seqs) for (let i = q.start + 1; ok && i < q.end; i++) if (rows[i]!.address < rows[i - 1]!.address) ok = false;
      this.monotone = ok;
    }
    if (!this.monotone) return this.sortedStatementAt(addr);
    // The highest row address at or below addr, and (for the rows at it) the last row's index.
    let best = -Infinity, lastAt = -1;
    for (const q of seqs) {
      if (q.low > addr) continue;
      let lo = q.start, hi = q.end - 1;
      while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (rows[mid]!.address <= addr) lo = mid; else hi = mid - 1; }
      const a = rows[lo]!.address;
      if (a > best) { best = a; lastAt = lo; } else if (a === best && lo > lastAt) lastAt = lo;
    }
    if (lastAt < 0) return undefined;
    if (best !== addr) return rows[lastAt]!.isStmt ? rows[lastAt] : undefined;
    // Rows at addr itself: the first statement row in program order.
    let first = -1;
    for (const q of seqs) {
      if (q.low > addr) continue;
      let lo = q.start, hi = q.end - 1;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (rows[mid]!.address < addr) lo = mid + 1; else hi = mid; }
      for (let i = lo; i < q.end && rows[i]!.address === addr; i++) {
        if (rows[i]!.isStmt) { if (first < 0 || i < first) first = i; break; }
      }
    }
    return first < 0 ? undefined : rows[first];
  }

  private sortedCache: LineRow[] | null = null;

  /** statementAt over all rows but the sequence ends, stably sorted by address. */
  private sortedStatementAt(addr: number): LineRow | undefined {
    return statementInSorted(this.sortedCache ??= sortedRows(this.rows()), addr);
  }

  private startsCache: Uint8Array | null = null;

  /**
   * Which rows start a line for PC → line lookups (gdb's lnp_state_machine::record_line, gdb/dwarf2/read.c):
   *  - rows for line 0 never do;
   *  - a non-stmt row that switches file at an address that already has an is_stmt row does not (inlined
   *    code's bookkeeping rows);
   *  - a row repeating the previous file and line does not when that line has carried a non-zero
   *    discriminator (it only splits a line into basic blocks: dwarf_record_line_p, gdb PR 17276).
   */
  lineStarts(): Uint8Array {
    if (this.startsCache) return this.startsCache;
    const rows = this.rows();
    const out = new Uint8Array(rows.length);
    let lastLine = -1, lastFile = -1, hasDisc = false, prevAddr = NaN, stmtAtAddr = false;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (r.endSequence) { lastLine = -1; lastFile = -1; hasDisc = false; prevAddr = NaN; stmtAtAddr = false; continue; }
      if (r.address !== prevAddr) stmtAtAddr = false;
      if (r.line !== lastLine) hasDisc = r.discriminator !== 0; else if (r.discriminator !== 0) hasDisc = true;
      const fileChanged = r.file !== lastFile;
      const ignore = r.line === 0 || (fileChanged && r.address === prevAddr && !r.isStmt && stmtAtAddr);
      if (!ignore) {
        out[i] = fileChanged || r.line !== lastLine || !hasDisc ? 1 : 0;
        lastLine = r.line; lastFile = r.file;
      }
      if (r.isStmt) stmtAtAddr = true;
      prevAddr = r.address;
    }
    this.startsCache = out;
    return out;
  }

  /**
   * The row describing `pc`, as gdb's `info line *ADDR` picks it: the last line-starting row at the highest
   * address <= pc in the sequence containing pc, or an is_stmt row at that same address if there is one.
   */
  rowAt(pc: number): LineRow | undefined {
    const rows = this.rows();
    const starts = this.lineStarts();
    for (const q of this.sequences()) {
      if (q.low > pc) break;
      if (pc >= q.high) continue;
      // Binary search the last row with address <= pc, then step back to a row that starts a line.
      let lo = q.start, hi = q.end - 1;
      while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (rows[mid]!.address <= pc) lo = mid; else hi = mid - 1; }
      while (lo > q.start && !starts[lo]) lo--;
      if (!starts[lo]) return undefined;
      const addr = rows[lo]!.address;
      for (let j = lo; j >= q.start && rows[j]!.address === addr; j--) if (starts[j] && rows[j]!.isStmt) return rows[j];
      return rows[lo];
    }
    return undefined;
  }

  /** The file entry a row's `file` index refers to (handles the v5 0-based / v4 1-based difference). */
  file(index: number): LineFile | undefined {
    return this.header.version >= 5 ? this.header.files[index] : this.header.files[index - 1];
  }
  /** Full path of a file index: dir/name unless the name is absolute. */
  filePath(index: number): string {
    const f = this.file(index);
    if (!f) return `<file ${index}>`;
    if (f.name.startsWith('/') || !f.dir) return f.name;
    return `${f.dir}/${f.name}`;
  }
}

/** Every row but the sequence ends, stably sorted by address (statementAt's definition reads them so). */
export function sortedRows(rows: readonly LineRow[]): LineRow[] {
  return rows.filter((r) => !r.endSequence).sort((a, b) => a.address - b.address);
}

/** In rows sorted by sortedRows: the rows at addr (else the last at the highest address below it), the
 *  first statement row among them, as perf's cu_getsrc_die reads libdw's rows. */
export function statementInSorted(rows: readonly LineRow[], addr: number): LineRow | undefined {
  let lo = 0, hi = rows.length - 1;
  if (hi < 0 || rows[0]!.address > addr) return undefined;
  while (lo < hi) { const m = hi - ((hi - lo) >> 1); if (addr < rows[m]!.address) hi = m - 1; else lo = m; }
  while (lo > 0 && rows[lo - 1]!.address === addr) lo--;
  for (let i = lo; i < rows.length && rows[i]!.address <= addr; i++) if (rows[i]!.isStmt) return rows[i];
  return undefined;
}
