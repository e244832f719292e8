#!/usr/bin/env node
// Cuts one compile unit out of a real vmlinux (Debian's, from scripts/real-vmlinux.sh) into a small
// standalone ELF: the unit's code (.text over its address ranges, at its real addresses), its FUNC and
// OBJECT symbols, and the debug sections it needs, each holding only that unit's part: .debug_info (the
// unit, moved to offset 0), .debug_abbrev (its table), .debug_str and .debug_line_str (only the strings
// it names), .debug_line (its program), .debug_loclists and .debug_rnglists (its contributions),
// .debug_aranges (its set) and .debug_frame (the CIEs and FDEs of its code). Every offset into those
// sections is rewritten: attribute values (strp, line_strp, sec_offset, ref_addr), the line header's
// line_strp entries, DIE references in expressions (DW_OP_implicit_pointer, call_ref, variable_value, in
// exprlocs and in location lists) and FDE CIE pointers. The result is the real-kernel DWARF 5 input of
// the ELF loader's and the DWARF reader's fuzz tests (test/elf/image.fuzz.test.ts,
// test/dwarf/dwarf.fuzz.test.ts). Check it with readelf --debug-dump / llvm-dwarfdump --verify.
// Usage: node test/elf/real/slice-unit.mjs [VMLINUX] [UNIT]   (default: scripts/real-vmlinux.sh, fs/read_write.c)
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, statSync } from 'node:fs';
import { brotliCompressSync, constants } from 'node:zlib';
import { join } from 'node:path';

const here = new URL('./', import.meta.url).pathname;
const root = new URL('../../../', import.meta.url).pathname;
const vmlinux = process.argv[2] || spawnSync(join(root, 'scripts/real-vmlinux.sh'), { encoding: 'utf8' }).stdout.trim();
const unitName = process.argv[3] || 'fs/read_write.c';
const file = readFileSync(vmlinux);
const fail = (m) => { console.error(`slice-unit: ${m}`); process.exit(1); };

// ---- ELF input
const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
const u16 = (o) => dv.getUint16(o, true), u32 = (o) => dv.getUint32(o, true), u64 = (o) => dv.getBigUint64(o, true);
const shoff = Number(u64(0x28)), shnum = u16(0x3c), shstrndx = u16(0x3e);
const shdr = (i) => { const o = shoff + i * 64; return { name: u32(o), type: u32(o + 4), flags: u64(o + 8), addr: u64(o + 16), offset: Number(u64(o + 24)), size: Number(u64(o + 32)), link: u32(o + 40), info: u32(o + 44), align: u64(o + 48), entsize: u64(o + 56) }; };
const cstr = (buf, o) => { let e = o; while (buf[e] !== 0) e++; return buf.subarray(o, e).toString('latin1'); };
const secs = Array.from({ length: shnum }, (_, i) => shdr(i));
const names = secs.map((s) => cstr(file, secs[shstrndx].offset + s.name));
const sec = (n) => { const i = names.indexOf(n); return i < 0 ? undefined : file.subarray(secs[i].offset, secs[i].offset + secs[i].size); };
const info = sec('.debug_info'), abbrev = sec('.debug_abbrev'), str = sec('.debug_str'), lineStr = sec('.debug_line_str');
const line = sec('.debug_line'), loclists = sec('.debug_loclists'), rnglists = sec('.debug_rnglists'), aranges = sec('.debug_aranges'), frame = sec('.debug_frame');

// ---- LEB128 and a cursor
function uleb(b, p) { let r = 0n, s = 0n, x; do { x = b[p.o++]; r |= BigInt(x & 0x7f) << s; s += 7n; } while (x & 0x80); return r; }
function sleb(b, p) { let r = 0n, s = 0n, x; do { x = b[p.o++]; r |= BigInt(x & 0x7f) << s; s += 7n; } while (x & 0x80); if (x & 0x40) r -= 1n << s; return r; }
const encUleb = (v) => { v = BigInt(v); const out = []; do { let x = Number(v & 0x7fn); v >>= 7n; if (v) x |= 0x80; out.push(x); } while (v); return out; };

// ---- the unit
function abbrevTable(off) {
  const t = new Map(), p = { o: off };
  for (;;) {
    const code = uleb(abbrev, p); if (code === 0n) break;
    const tag = uleb(abbrev, p), children = abbrev[p.o++], attrs = [];
    for (;;) { const at = uleb(abbrev, p), form = uleb(abbrev, p); if (at === 0n && form === 0n) break; attrs.push({ at: Number(at), form: Number(form), ic: form === 0x21n ? sleb(abbrev, p) : undefined }); }
    t.set(code, { tag: Number(tag), children, attrs });
  }
  return { table: t, end: p.o };
}
let cu;
for (let o = 0; o < info.length;) {
  const len = info.readUInt32LE(o); if (len >= 0xfffffff0) fail('64-bit DWARF is not handled');
  const ver = info.readUInt16LE(o + 4); if (ver !== 5) fail(`unit at ${o}: version ${ver}`);
  const abbrevOff = info.readUInt32LE(o + 8), ab = abbrevTable(abbrevOff);
  const p = { o: o + 12 }, code = uleb(info, p), a = ab.table.get(code);
  for (const at of a.attrs) {
    if (at.at === 0x03) { // DW_AT_name
      const name = at.form === 0x0e ? cstr(str, info.readUInt32LE(p.o)) : at.form === 0x1f ? cstr(lineStr, info.readUInt32LE(p.o)) : cstr(info, p.o);
      if (name === unitName) cu = { off: o, end: o + 4 + len, abbrevOff, abbrevEnd: ab.end, table: ab.table };
      break;
    }
    skipForm(at.form, p, info);
  }
  if (cu) break;
  o += 4 + len;
}
if (!cu) fail(`no unit named ${unitName}`);

function skipForm(form, p, b) {
  switch (form) {
    case 0x01: p.o += 8; return; // addr
    case 0x0b: case 0x11: case 0x25: case 0x0c: p.o += 1; return; // data1 ref1 strx1 flag
    case 0x05: case 0x12: case 0x26: p.o += 2; return;
    case 0x27: p.o += 3; return;
    case 0x06: case 0x13: case 0x0e: case 0x1f: case 0x17: case 0x10: case 0x28: case 0x1d: case 0x1c: p.o += 4; return;
    case 0x07: case 0x14: case 0x20: p.o += 8; return;
    case 0x1e: p.o += 16; return;
    case 0x0d: sleb(b, p); return;
    case 0x0f: case 0x15: case 0x1a: case 0x1b: case 0x22: case 0x23: uleb(b, p); return;
    case 0x08: while (b[p.o] !== 0) p.o++; p.o++; return; // string
    case 0x0a: p.o += 1 + b[p.o]; return;
    case 0x03: p.o += 2 + b.readUInt16LE(p.o); return;
    case 0x04: p.o += 4 + b.readUInt32LE(p.o); return;
    case 0x09: case 0x18: { const n = Number(uleb(b, p)); p.o += n; return; }
    case 0x19: case 0x21: return; // flag_present, implicit_const
    default: fail(`form 0x${form.toString(16)} not handled`);
  }
}

// Patches are applied to copies: [buffer, position, kind, old value].
const patches = { info: [], line: [], loclists: [] };
const strRefs = new Map(), lineStrRefs = new Map(); // old offset -> new offset (filled later)
// DW_AT_GNU_locviews point at view pairs (uleb128s) beside the lists, in the same contribution.
const locOffsets = new Set(), viewOffsets = new Set(), rngOffsets = new Set();
const RNG_ATTRS = new Set([0x55, 0x2c]);

/** DIE references (absolute .debug_info offsets) inside a DWARF expression. */
function scanExpr(b, start, end, out) {
  const p = { o: start };
  while (p.o < end) {
    const op = b[p.o++];
    if (op >= 0x30 && op <= 0x6f) continue;
    if (op >= 0x70 && op <= 0x8f) { sleb(b, p); continue; }
    switch (op) {
      case 0x03: p.o += 8; break;
      case 0x08: case 0x09: case 0x15: case 0x94: case 0x95: p.o += 1; break;
      case 0x0a: case 0x0b: case 0x28: case 0x2f: case 0x98: p.o += 2; break;
      case 0x0c: case 0x0d: case 0x99: case 0xfa: p.o += 4; break;
      case 0x0e: case 0x0f: p.o += 8; break;
      case 0x10: case 0x23: case 0x90: case 0x93: case 0xa1: case 0xa2: case 0xa8: case 0xa9: case 0xf7: case 0xf9: case 0xfb: case 0xfc: uleb(b, p); break;
      case 0x11: case 0x91: sleb(b, p); break;
      case 0x92: uleb(b, p); sleb(b, p); break;
      case 0x9d: case 0xa5: case 0xf5: uleb(b, p); uleb(b, p); break;
      case 0x9e: { const n = Number(uleb(b, p)); p.o += n; break; }
      case 0x9a: case 0xfd: out.push(p.o); p.o += 4; break; // call_ref, GNU_variable_value
      case 0xa0: case 0xf2: out.push(p.o); p.o += 4; sleb(b, p); break; // implicit_pointer
      case 0xa3: case 0xf3: { const n = Number(uleb(b, p)); scanExpr(b, p.o, p.o + n, out); p.o += n; break; }
      case 0xa4: case 0xf4: { uleb(b, p); const n = b[p.o++]; p.o += n; break; }
      case 0xa6: case 0xa7: case 0xf6: p.o += 1; uleb(b, p); break;
      default:
        if ((op >= 0x06 && op <= 0x07) || (op >= 0x12 && op <= 0x2e) || (op >= 0x96 && op <= 0x9c) || op === 0x9f || op === 0xe0 || op === 0xf0) break;
        fail(`DW_OP 0x${op.toString(16)} not handled`);
    }
  }
}

// Walk every DIE of the unit.
let stmtList, lowPc, highPc;
{
  const p = { o: cu.off + 12 };
  while (p.o < cu.end) {
    const code = uleb(info, p);
    if (code === 0n) continue;
    const a = cu.table.get(code); if (!a) fail(`abbrev ${code} missing at ${p.o}`);
    for (const { at, form: f0 } of a.attrs) {
      let form = f0;
      if (form === 0x16) form = Number(uleb(info, p));
      const at0 = p.o;
      if (form === 0x0e) { strRefs.set(info.readUInt32LE(p.o), 0); patches.info.push([at0, 'str']); }
      else if (form === 0x1f) { lineStrRefs.set(info.readUInt32LE(p.o), 0); patches.info.push([at0, 'linestr']); }
      else if (form === 0x10) patches.info.push([at0, 'info']);
      else if (form === 0x17) {
        const v = info.readUInt32LE(p.o);
        if (at === 0x10) { stmtList = v; patches.info.push([at0, 'line']); }
        else if (RNG_ATTRS.has(at)) { rngOffsets.add(v); patches.info.push([at0, 'rng']); }
        else if (at === 0x79 || at === 0x2119) fail('macro info is not handled');
        else { (at === 0x2137 ? viewOffsets : locOffsets).add(v); patches.info.push([at0, 'loc']); }
      } else if (form === 0x18) { const n = Number(uleb(info, p)); const refs = []; scanExpr(info, p.o, p.o + n, refs); for (const r of refs) patches.info.push([r, 'info']); p.o += n; continue; }
      if (a.tag === 0x11 && at === 0x11) lowPc = info.readBigUInt64LE(p.o);
      if (a.tag === 0x11 && at === 0x12) highPc = form === 0x01 ? info.readBigUInt64LE(p.o) : undefined;
      skipForm(form, p, info);
    }
  }
}

/** The contribution (header included) of .debug_loclists/.debug_rnglists holding all of offsets. */
function contribution(b, offsets) {
  const min = Math.min(...offsets), max = Math.max(...offsets);
  for (let o = 0; o < b.length;) {
    const end = o + 4 + b.readUInt32LE(o);
    if (min >= o && min < end) { if (max >= end) fail('offsets span two contributions'); return { start: o, end }; }
    o = end;
  }
  fail('no contribution');
}
const loc = locOffsets.size ? contribution(loclists, [...locOffsets, ...viewOffsets]) : undefined;
const rng = rngOffsets.size ? contribution(rnglists, [...rngOffsets]) : undefined;

// Location lists: the DIE references in their expressions (views, uleb pairs, need no rewriting).
if (loc) {
  for (const start of locOffsets) {
    const p = { o: start };
    for (;;) {
      const k = loclists[p.o++];
      if (k === 0) break;
      const expr = () => { const n = Number(uleb(loclists, p)); const refs = []; scanExpr(loclists, p.o, p.o + n, refs); for (const r of refs) patches.loclists.push([r - loc.start, 'info']); p.o += n; };
      if (k === 1) uleb(loclists, p);
      else if (k === 2 || k === 3 || k === 4) { uleb(loclists, p); uleb(loclists, p); expr(); }
      else if (k === 5) expr();
      else if (k === 6) p.o += 8;
      else if (k === 7) { p.o += 16; expr(); }
      else if (k === 8) { p.o += 8; uleb(loclists, p); expr(); }
      else if (k === 9) { uleb(loclists, p); uleb(loclists, p); }
      else fail(`DW_LLE 0x${k.toString(16)} not handled`);
    }
  }
}

// The line program: its header's line_strp entries (directory and file tables, DWARF 5).
const lineStart = stmtList, lineEnd = stmtList + 4 + line.readUInt32LE(stmtList);
{
  const p = { o: lineStart + 4 };
  if (line.readUInt16LE(p.o) !== 5) fail('line table is not version 5');
  p.o += 2 + 1 + 1 + 4; // version, address_size, seg_sel, header_length
  p.o += 5; // min_inst_length, max_ops, default_is_stmt, line_base, line_range
  const opcodeBase = line[p.o++]; p.o += opcodeBase - 1;
  for (let table = 0; table < 2; table++) {
    const nfmt = line[p.o++], fmts = [];
    for (let i = 0; i < nfmt; i++) fmts.push([Number(uleb(line, p)), Number(uleb(line, p))]);
    const n = Number(uleb(line, p));
    for (let i = 0; i < n; i++) for (const [, form] of fmts) {
      if (form === 0x1f) { lineStrRefs.set(line.readUInt32LE(p.o), 0); patches.line.push([p.o - lineStart, 'linestr']); }
      else if (form === 0x0e) { strRefs.set(line.readUInt32LE(p.o), 0); patches.line.push([p.o - lineStart, 'str']); }
      skipForm(form, p, line);
    }
  }
}

// String sections: the referenced strings only (by content; an offset may point into another's tail).
function strings(src, refs) {
  const parts = [], byText = new Map();
  let size = 0;
  for (const o of [...refs.keys()].sort((a, b) => a - b)) {
    const s = cstr(src, o);
    if (!byText.has(s)) { byText.set(s, size); parts.push(Buffer.from(s + '\0', 'latin1')); size += Buffer.byteLength(s, 'latin1') + 1; }
    refs.set(o, byText.get(s));
  }
  return Buffer.concat(parts);
}
const newStr = strings(str, strRefs), newLineStr = strings(lineStr, lineStrRefs);

// The unit's code ranges: from its aranges set (also copied, pointing at offset 0).
let newAranges, ranges = [];
for (let o = 0; o < aranges.length;) {
  const len = aranges.readUInt32LE(o), end = o + 4 + len;
  if (aranges.readUInt32LE(o + 6) === cu.off) {
    newAranges = Buffer.from(aranges.subarray(o, end)); newAranges.writeUInt32LE(0, 6);
    for (let q = o + 16; q + 16 <= end; q += 16) { const a = aranges.readBigUInt64LE(q), l = aranges.readBigUInt64LE(q + 8); if (!a && !l) break; ranges.push([a, l]); }
  }
  o = end;
}
if (!newAranges) fail('the unit has no .debug_aranges set');

// .debug_frame: the CIEs and FDEs of the unit's code.
const frameParts = [], cieMap = new Map();
let frameSize = 0;
const inUnit = (a) => ranges.some(([s, l]) => a >= s && a < s + l);
for (let o = 0; o < frame.length;) {
  const len = frame.readUInt32LE(o); if (len === 0) { o += 4; continue; }
  const end = o + 4 + len, id = frame.readUInt32LE(o + 4);
  if (id !== 0xffffffff && inUnit(frame.readBigUInt64LE(o + 8))) {
    if (!cieMap.has(id)) { const cl = frame.readUInt32LE(id); cieMap.set(id, frameSize); frameParts.push(frame.subarray(id, id + 4 + cl)); frameSize += 4 + cl; }
    const fde = Buffer.from(frame.subarray(o, end)); fde.writeUInt32LE(cieMap.get(id), 4);
    frameParts.push(fde); frameSize += fde.length;
  }
  o = end;
}

// ---- rewrite
const newInfo = Buffer.from(info.subarray(cu.off, cu.end));
newInfo.writeUInt32LE(0, 8); // abbrev offset
const infoRef = (v) => { if (v < cu.off || v >= cu.end) fail(`reference 0x${v.toString(16)} leaves the unit`); return v - cu.off; };
const apply = (buf, list, base) => {
  for (const [pos, kind] of list) {
    const at = pos - base, v = buf.readUInt32LE(at);
    const nv = kind === 'str' ? strRefs.get(v) : kind === 'linestr' ? lineStrRefs.get(v) : kind === 'info' ? infoRef(v)
      : kind === 'line' ? v - lineStart : kind === 'loc' ? v - loc.start : v - rng.start;
    buf.writeUInt32LE(nv, at);
  }
};
apply(newInfo, patches.info, cu.off);
const newLine = Buffer.from(line.subarray(lineStart, lineEnd)); apply(newLine, patches.line, 0);
const newLoc = loc ? Buffer.from(loclists.subarray(loc.start, loc.end)) : Buffer.alloc(0); apply(newLoc, patches.loclists, 0);
const newRng = rng ? Buffer.from(rnglists.subarray(rng.start, rng.end)) : Buffer.alloc(0);
const newAbbrev = Buffer.from(abbrev.subarray(cu.abbrevOff, cu.abbrevEnd));

// ---- the unit's code and symbols
const textIdx = names.indexOf('.text'), text = secs[textIdx];
// The unit's code in clusters of nearby ranges (its hot code and its .cold parts lie megabytes apart).
const clusters = [];
for (const [a, l] of [...ranges].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
  const last = clusters[clusters.length - 1];
  if (last && a - last.hi < 0x10000n) last.hi = a + l > last.hi ? a + l : last.hi; else clusters.push({ lo: a, hi: a + l });
}
for (const c of clusters) {
  if (c.lo < text.addr || c.hi > text.addr + BigInt(text.size)) fail('the unit has code outside .text');
  c.data = Buffer.from(file.subarray(text.offset + Number(c.lo - text.addr), text.offset + Number(c.hi - text.addr)));
}
const clusterOf = (a) => clusters.findIndex((c) => a >= c.lo && a < c.hi);
const symtab = secs[names.indexOf('.symtab')], strtab = secs[symtab.link];
const syms = [];
for (let o = symtab.offset + 24; o < symtab.offset + symtab.size; o += 24) {
  const type = file[o + 4] & 0xf, value = file.readBigUInt64LE(o + 8), shndx = file.readUInt16LE(o + 6);
  if ((type === 2 && shndx === textIdx && inUnit(value))) syms.push({ name: cstr(file, strtab.offset + file.readUInt32LE(o)), info: file[o + 4], value, size: file.readBigUInt64LE(o + 16) });
}
syms.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : a.name < b.name ? -1 : 1));

// ---- ELF output: .text (one PT_LOAD), the debug sections, .symtab, .strtab, .shstrtab
const out = [
  ...clusters.map((c, i) => ({ name: i ? `.text.${i}` : '.text', type: 1, flags: 6n, addr: c.lo, data: c.data, align: 16n })),
  { name: '.debug_aranges', data: newAranges }, { name: '.debug_info', data: newInfo }, { name: '.debug_abbrev', data: newAbbrev },
  { name: '.debug_line', data: newLine }, { name: '.debug_frame', data: Buffer.concat(frameParts), align: 8n },
  { name: '.debug_str', data: newStr, flags: 0x30n, entsize: 1n }, { name: '.debug_line_str', data: newLineStr, flags: 0x30n, entsize: 1n },
  { name: '.debug_loclists', data: newLoc }, { name: '.debug_rnglists', data: newRng },
];
const symStr = [0], symBytes = [Buffer.alloc(24)];
let strSize = 1;
const strParts = [Buffer.alloc(1)];
for (const s of syms) {
  const e = Buffer.alloc(24); e.writeUInt32LE(strSize, 0); e[4] = s.info; e.writeUInt16LE(1 + clusterOf(s.value), 6); e.writeBigUInt64LE(s.value, 8); e.writeBigUInt64LE(s.size, 16);
  symBytes.push(e); strParts.push(Buffer.from(s.name + '\0')); strSize += Buffer.byteLength(s.name) + 1;
}
const firstGlobal = 1 + syms.filter((s) => s.info >> 4 === 0).length;
// Locals first, as ELF requires.
const ordered = [symBytes[0], ...symBytes.slice(1).filter((e) => e[4] >> 4 === 0), ...symBytes.slice(1).filter((e) => e[4] >> 4 !== 0)];
const symIdx = out.length + 1, strIdx = out.length + 2;
out.push({ name: '.symtab', type: 2, data: Buffer.concat(ordered), link: strIdx, info: firstGlobal, align: 8n, entsize: 24n });
out.push({ name: '.strtab', type: 3, data: Buffer.concat(strParts) });
const shstr = ['', ...out.map((s) => s.name), '.shstrtab'];
const shstrBuf = Buffer.from(shstr.join('\0') + '\0');
out.push({ name: '.shstrtab', type: 3, data: shstrBuf });
const nameOff = (n) => shstrBuf.indexOf(Buffer.from('\0' + n + '\0')) + 1;
let off = 64 + 56 * clusters.length;
const placed = out.map((s) => { const a = Number(s.align ?? 1n); off = Math.ceil(off / a) * a; const at = off; off += s.data.length; return at; });
off = Math.ceil(off / 8) * 8;
const shOff = off, total = shOff + 64 * (out.length + 1);
const elf = Buffer.alloc(total);
elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
elf.writeUInt16LE(2, 16); elf.writeUInt16LE(62, 18); elf.writeUInt32LE(1, 20); elf.writeBigUInt64LE(clusters[0].lo, 24);
elf.writeBigUInt64LE(64n, 32); elf.writeBigUInt64LE(BigInt(shOff), 40); elf.writeUInt16LE(64, 52); elf.writeUInt16LE(56, 54); elf.writeUInt16LE(clusters.length, 56);
elf.writeUInt16LE(64, 58); elf.writeUInt16LE(out.length + 1, 60); elf.writeUInt16LE(out.length, 62);
// A PT_LOAD R+X for each code section.
clusters.forEach((c, i) => {
  const h = 64 + 56 * i, n = BigInt(c.data.length);
  elf.writeUInt32LE(1, h); elf.writeUInt32LE(5, h + 4); elf.writeBigUInt64LE(BigInt(placed[i]), h + 8); elf.writeBigUInt64LE(c.lo, h + 16);
  elf.writeBigUInt64LE(c.lo, h + 24); elf.writeBigUInt64LE(n, h + 32); elf.writeBigUInt64LE(n, h + 40); elf.writeBigUInt64LE(0x1000n, h + 48);
});
out.forEach((s, i) => {
  s.data.copy(elf, placed[i]);
  const h = shOff + 64 * (i + 1);
  elf.writeUInt32LE(nameOff(s.name), h); elf.writeUInt32LE(s.type ?? 1, h + 4); elf.writeBigUInt64LE(s.flags ?? 0n, h + 8);
  elf.writeBigUInt64LE(s.addr ?? 0n, h + 16); elf.writeBigUInt64LE(BigInt(placed[i]), h + 24); elf.writeBigUInt64LE(BigInt(s.data.length), h + 32);
  elf.writeUInt32LE(s.link ?? 0, h + 40); elf.writeUInt32LE(s.info ?? 0, h + 44); elf.writeBigUInt64LE(s.align ?? 1n, h + 48); elf.writeBigUInt64LE(s.entsize ?? 0n, h + 56);
});
void symIdx; void lowPc; void highPc;

const base = unitName.replace(/^.*\//, '').replace(/\.c$/, '');
const outPath = join(here, `${base}.elf.br`);
writeFileSync(outPath, brotliCompressSync(elf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
const version = (() => { try { return readFileSync(vmlinux + '.version', 'utf8').trim(); } catch { return 'unknown'; } })();
const buildId = /Build ID: ([0-9a-f]+)/.exec(spawnSync('readelf', ['-n', vmlinux], { encoding: 'utf8' }).stdout)?.[1];
writeFileSync(join(here, `${base}.json`), JSON.stringify({
  unit: unitName, from: version, buildId, unitOffset: cu.off, elfSize: elf.length,
  sections: Object.fromEntries(out.map((s) => [s.name, s.data.length])), symbols: syms.length,
}, null, 1) + '\n');
console.log(`${unitName} from ${version}: ${elf.length} bytes (${statSync(outPath).size} compressed) at ${outPath}, ${syms.length} symbols, ${patches.info.length + patches.line.length + patches.loclists.length} offsets rewritten`);
