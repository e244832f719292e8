// DWARF 5 indexed forms, on byte-exact sections built here (gcc 12 without -gsplit-dwarf never emits them,
// so the binaries can't cover them): DW_FORM_strx*, DW_FORM_addrx*, DW_FORM_rnglistx, DW_FORM_loclistx,
// DW_OP_addrx, through .debug_str_offsets, .debug_addr, .debug_rnglists and .debug_loclists (DWARF 5 §7.26-7.29).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DW_AT, DW_FORM, DW_TAG, Dwarf, DwarfError, formatAddressExpr, type FetchPlan } from '../../src/dwarf/index.js';

class Bytes {
  readonly b: number[] = [];
  u8(...v: number[]) { this.b.push(...v); return this; }
  u16(v: number) { return this.u8(v & 0xff, v >> 8); }
  u32(v: number) { return this.u8(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff); }
  u64(v: number) { return this.u32(v % 0x100000000).u32(Math.floor(v / 0x100000000)); }
  uleb(v: number) { do { let x = v & 0x7f; v = Math.floor(v / 128); if (v) x |= 0x80; this.u8(x); } while (v); return this; }
  sleb(v: number) { for (;;) { const x = v & 0x7f; v >>= 7; if ((v === 0 && !(x & 0x40)) || (v === -1 && x & 0x40)) { this.u8(x); return this; } this.u8(x | 0x80); } }
  str(s: string) { for (const c of s) this.u8(c.charCodeAt(0)); return this.u8(0); }
  bytes(x: Bytes) { this.b.push(...x.b); return this; }
  get length() { return this.b.length; }
  out() { return new Uint8Array(this.b); }
}
/** Prefixes a 32-bit DWARF unit length. */
const withLength = (body: Bytes) => new Bytes().u32(body.length).bytes(body);

const str = new Bytes().u8(0).str('cu.c').str('read_it').str('file');           // offsets 0, 1, 6, 14
const strOffsets = withLength(new Bytes().u16(5).u16(0).u32(1).u32(6).u32(14));  // base 8: [cu.c, read_it, file]
const addr = withLength(new Bytes().u16(5).u8(8, 0).u64(0x401000).u64(0x401010).u64(0x401080).u64(0x404000)); // base 8
// .debug_rnglists: header (12 bytes) + one offset entry; list 0 at base+4.
const rl = new Bytes().u8(3).uleb(1).uleb(0x20)   // DW_RLE_startx_length addr[1], 0x20
  .u8(1).uleb(2)                                  // DW_RLE_base_addressx addr[2]
  .u8(4).uleb(0).uleb(0x10)                       // DW_RLE_offset_pair 0..0x10 from that base
  .u8(0);
const rnglists = withLength(new Bytes().u16(5).u8(8, 0).u32(1).u32(4).bytes(rl));
const ll = new Bytes().u8(3).uleb(1).uleb(0x8).uleb(1).u8(0x55)   // DW_LLE_startx_length addr[1]+8: DW_OP_reg5
  .u8(4).uleb(0x18).uleb(0x30).uleb(2).u8(0x91).sleb(-16)           // DW_LLE_offset_pair (CU base) : DW_OP_fbreg -16
  .u8(0);
const loclists = withLength(new Bytes().u16(5).u8(8, 0).u32(1).u32(4).bytes(ll));

const abbrev = new Bytes()
  .uleb(1).uleb(DW_TAG.compile_unit).u8(1)
  .uleb(DW_AT.name).uleb(DW_FORM.strx1).uleb(DW_AT.str_offsets_base).uleb(DW_FORM.sec_offset)
  .uleb(DW_AT.addr_base).uleb(DW_FORM.sec_offset).uleb(DW_AT.rnglists_base).uleb(DW_FORM.sec_offset)
  .uleb(DW_AT.loclists_base).uleb(DW_FORM.sec_offset).uleb(DW_AT.low_pc).uleb(DW_FORM.addrx1)
  .uleb(DW_AT.high_pc).uleb(DW_FORM.data4).u8(0, 0)
  .uleb(2).uleb(DW_TAG.subprogram).u8(1)
  .uleb(DW_AT.name).uleb(DW_FORM.strx2).uleb(DW_AT.ranges).uleb(DW_FORM.rnglistx)
  .uleb(DW_AT.frame_base).uleb(DW_FORM.exprloc).u8(0, 0)
  .uleb(3).uleb(DW_TAG.formal_parameter).u8(0)
  .uleb(DW_AT.name).uleb(DW_FORM.strx).uleb(DW_AT.location).uleb(DW_FORM.loclistx).uleb(DW_AT.type).uleb(DW_FORM.ref4).u8(0, 0)
  .uleb(4).uleb(DW_TAG.base_type).u8(0)
  .uleb(DW_AT.name).uleb(DW_FORM.string).uleb(DW_AT.byte_size).uleb(DW_FORM.data1).uleb(DW_AT.encoding).uleb(DW_FORM.data1).u8(0, 0)
  .uleb(5).uleb(DW_TAG.variable).u8(0)
  .uleb(DW_AT.name).uleb(DW_FORM.string).uleb(DW_AT.location).uleb(DW_FORM.exprloc).uleb(DW_AT.type).uleb(DW_FORM.ref4).u8(0, 0)
  .u8(0);

// Unit header (12 bytes) then DIEs; DIE offsets are unit-relative for ref4.
const dies = new Bytes();
const HDR = 12;
dies.uleb(1).u8(0).u32(8).u32(8).u32(12).u32(12).u8(0).u32(0x100);      // CU: name=str[0], low_pc=addr[0]
dies.uleb(2).u16(1).uleb(0).uleb(2).u8(0x76, 0x10);                     // subprogram read_it, ranges list 0, fb = DW_OP_breg6 16
const paramAt = HDR + dies.length;
dies.uleb(3).uleb(2).uleb(0).u32(0);                                    // parameter "file", loclist 0, type patched below
dies.u8(0);                                                             // end of subprogram children
dies.uleb(5).str('global').uleb(2).u8(0xa1, 3).u32(0);                  // variable: DW_OP_addrx 3; type patched below
const intAt = HDR + dies.length;
dies.uleb(4).str('long int').u8(8, 5);
dies.u8(0);
// Patch the two ref4 type fields (last 4 bytes of the parameter and variable entries).
const patch = (at: number) => { dies.b[at] = intAt & 0xff; dies.b[at + 1] = intAt >> 8; };
patch(paramAt - HDR + 1 + 1 + 1);
patch(dies.b.length - (1 + 9 + 3) - 4);
const info = withLength(new Bytes().u16(5).u8(1, 8).u32(0).bytes(dies));

const sections: Record<string, Uint8Array> = {
  '.debug_info': info.out(), '.debug_abbrev': abbrev.out(), '.debug_str': str.out(), '.debug_str_offsets': strOffsets.out(),
  '.debug_addr': addr.out(), '.debug_rnglists': rnglists.out(), '.debug_loclists': loclists.out(),
};
const dwarf = () => new Dwarf((n) => sections[n]);

test('strx1/strx2/strx names and the addrx1 unit base', () => {
  const d = dwarf();
  const u = d.units()[0]!;
  assert.is(d.str(u.root()!, DW_AT.name), 'cu.c');
  assert.is(d.address(u.root()!, DW_AT.low_pc), 0x401000);
  assert.equal(d.functions().size, 1);
  const [f] = d.functionsByName('read_it');
  assert.ok(f);
  assert.equal(f!.ranges, [{ low: 0x401010, high: 0x401030 }, { low: 0x401080, high: 0x401090 }]);
  assert.is(f!.entryPc, 0x401010);
});

test('rnglistx ranges decide the scope; loclistx picks the location for the PC', () => {
  const d = dwarf();
  assert.equal(d.scopeAt(0x401085).map((s) => s.name), ['read_it']);
  assert.equal(d.scopeAt(0x401040), []);
  const at = (pc: number) => d.variablesAt(pc).find((v) => v.name === 'file')!;
  assert.equal(at(0x401012).location, { kind: 'register', reg: 5, regName: 'di' });
  const mem = at(0x401020).location as Extract<FetchPlan, { kind: 'memory' }>;
  assert.is(formatAddressExpr(mem.address), '+0(%bp)'); // fbreg -16 over frame base rbp+16
  assert.is(at(0x401020).typeName, 'long int');
  assert.equal(at(0x401088).location, { kind: 'optimized-out' });
});

test('DW_OP_addrx locates a global through .debug_addr', () => {
  const d = dwarf();
  const g = d.variablesAt(0x401012, { externs: true }).find((v) => v.name === 'global')!;
  assert.is(g.kind, 'global');
  assert.is(formatAddressExpr((g.location as Extract<FetchPlan, { kind: 'memory' }>).address), '@0x404000');
});

test('an address index past .debug_addr is a DwarfError naming the section', () => {
  const bad: Record<string, Uint8Array> = { ...sections, '.debug_addr': sections['.debug_addr']!.subarray(0, 16) };
  const d = new Dwarf((n) => bad[n]);
  assert.throws(() => d.functionsByName('read_it'), (e: unknown) => e instanceof DwarfError && e.section === '.debug_addr');
});

test.run();
