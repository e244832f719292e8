// The run-time helpers (multiply, divide, shifts, bit scans) against BigInt models written from the
// SDM's operation sections, over seeded random and edge operands (KTRACE_LONG=1: 20x more cases).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { H } from '../../src/emu/runtime.js';
import { Cpu, Reg } from '../../src/emu/cpu.js';
import { Memory, FAULT } from '../../src/emu/memory.js';
import { getCF, getOF, getZF, getSF } from '../../src/emu/flags.js';

const N = process.env.KTRACE_LONG === '1' ? 4000 : 200;
let seed = 0x12345678;
function rnd32(): number { seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0; return seed; }
const EDGE = [0n, 1n, 2n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn,
  0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn];
function value(sz: number, i: number): bigint {
  const v = i < EDGE.length ? EDGE[i] : (BigInt(rnd32()) << 32n) | BigInt(rnd32());
  return BigInt.asUintN(sz, v);
}
const lo = (v: bigint) => Number(v & 0xffffffffn), hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
const sext = (v: bigint, sz: number) => BigInt.asIntN(sz, v);
// The helpers touch registers and flags only (a fault is recorded on the Cpu): every case gets a fresh Cpu
// over one shared arena (a new Memory per case, about 10,000 of them, was most of the file's time).
const MEM = new Memory();
function cpu(): Cpu { return new Cpu(0, MEM); }
function setAcc(c: Cpu, sz: number, a: bigint, d = 0n): void {
  c.setReg(Reg.RAX, sz === 8 ? a : a | (0x5555555555555555n << BigInt(sz) & 0xffffffffffffffffn));
  if (sz === 8) c.setReg(Reg.RAX, (0x55555555n << 16n) | a);
  c.setReg(Reg.RDX, sz === 64 || sz === 32 ? d : (0x55555555n << 16n) | d);
}

test('mul and imul (one operand): RDX:RAX product, CF=OF=upper half significant', () => {
  for (const sz of [8, 16, 32, 64]) for (let i = 0; i < N; i++) {
    const c = cpu(), a = value(sz, i), b = value(sz, (i * 7) % (N + 3));
    setAcc(c, sz, a);
    H.mul(c, sz, lo(b), hi(b));
    const p = a * b, W = BigInt(sz), mask = (1n << W) - 1n;
    const got = sz === 8 ? c.getReg(Reg.RAX) & 0xffffn : ((c.getReg(Reg.RDX) & mask) << W) | (c.getReg(Reg.RAX) & mask);
    assert.is(got, p, `mul${sz} ${a} ${b}`);
    assert.is(getCF(c), p >> W ? 1 : 0); assert.is(getOF(c), getCF(c));
    const c2 = cpu();
    setAcc(c2, sz, a);
    H.imul1(c2, sz, lo(b), hi(b));
    const sp = sext(a, sz) * sext(b, sz);
    const got2 = sz === 8 ? c2.getReg(Reg.RAX) & 0xffffn : ((c2.getReg(Reg.RDX) & mask) << W) | (c2.getReg(Reg.RAX) & mask);
    assert.is(got2, BigInt.asUintN(2 * sz, sp), `imul${sz} ${a} ${b}`);
    assert.is(getCF(c2), sext(BigInt.asUintN(sz, sp), sz) !== sp ? 1 : 0, `imul${sz} CF ${a} ${b}`);
    if (sz === 32) { assert.is(c.getReg(Reg.RAX) >> 32n, 0n); assert.is(c.getReg(Reg.RDX) >> 32n, 0n); }
  }
});

test('imul (two/three operands): truncated product, CF=OF when it does not fit', () => {
  for (const sz of [16, 32, 64]) for (let i = 0; i < N; i++) {
    const c = cpu(), a = value(sz, i), b = value(sz, (i * 5 + 3) % (N + 1));
    const r = H.imul2(c, sz, lo(a), hi(a), lo(b), hi(b));
    const got = sz === 64 ? (BigInt(H.rhi >>> 0) << 32n) | BigInt(r >>> 0) : BigInt(r >>> 0);
    const sp = sext(a, sz) * sext(b, sz);
    assert.is(got, BigInt.asUintN(sz, sp), `imul2 ${sz} ${a} ${b}`);
    assert.is(getOF(c), sext(BigInt.asUintN(sz, sp), sz) !== sp ? 1 : 0);
  }
});

test('div and idiv: quotient and remainder, #DE on zero divisor and on overflow', () => {
  for (const sz of [8, 16, 32, 64]) for (let i = 0; i < N; i++) {
    const W = BigInt(sz), mask = (1n << W) - 1n;
    const d = value(sz, (i * 3 + 1) % (N + 2));
    const nhi = i % 3 === 0 ? 0n : value(sz, i) % (d === 0n ? 1n : d), nlo = value(sz, i + 1);
    const n = (nhi << W) | nlo;
    for (const signed of [false, true]) {
      const c = cpu();
      if (sz === 8) c.setReg(Reg.RAX, n); else { c.setReg(Reg.RAX, nlo); c.setReg(Reg.RDX, nhi); }
      let faulted = false;
      try { (signed ? H.idiv : H.div)(c, sz, lo(d), hi(d)); } catch (e) { if (e !== FAULT) throw e; faulted = true; }
      let q: bigint, r: bigint, ok: boolean;
      if (d === 0n) { ok = false; q = r = 0n; }
      else if (!signed) { q = n / d; r = n % d; ok = q <= mask; }
      else { const sn = sext(n, 2 * sz), sd = sext(d, sz); q = sn / sd; r = sn % sd; ok = q >= -(1n << (W - 1n)) && q < (1n << (W - 1n)); }
      assert.is(faulted, !ok, `${signed ? 'i' : ''}div${sz} ${n}/${d}`);
      if (!ok) { assert.is(c.trapVector, 0); continue; }
      const gq = sz === 8 ? c.getReg(Reg.RAX) & 0xffn : c.getReg(Reg.RAX) & mask;
      const gr = sz === 8 ? (c.getReg(Reg.RAX) >> 8n) & 0xffn : c.getReg(Reg.RDX) & mask;
      assert.is(gq, BigInt.asUintN(sz, q), `q ${signed ? 'i' : ''}div${sz} ${n}/${d}`);
      assert.is(gr, BigInt.asUintN(sz, r), `r ${signed ? 'i' : ''}div${sz} ${n}/${d}`);
    }
  }
});

test('64-bit idiv and div of dividends that fit a double, of both signs (the exact double path)', () => {
  for (let i = 0; i < N; i++) {
    const mag = (bits: number) => (BigInt(rnd32()) << 32n | BigInt(rnd32())) & ((1n << BigInt(bits)) - 1n);
    const n = (i & 1 ? -1n : 1n) * mag(1 + (i % 53)), d0 = (i & 2 ? -1n : 1n) * mag(1 + ((i * 7) % 53));
    const d = d0 === 0n ? 3n : d0;
    const c = cpu();
    const un = BigInt.asUintN(128, n);
    c.setReg(Reg.RAX, un & 0xffffffffffffffffn); c.setReg(Reg.RDX, un >> 64n);
    const ud = BigInt.asUintN(64, d);
    H.idiv(c, 64, lo(ud), hi(ud));
    assert.is(c.getReg(Reg.RAX), BigInt.asUintN(64, n / d), `idiv64 ${n}/${d}`);
    assert.is(c.getReg(Reg.RDX), BigInt.asUintN(64, n % d), `idiv64 ${n}%${d}`);
  }
});

test('shifts and rotates: result, CF, OF for count 1; a masked count of 0 leaves the flags alone', () => {
  const names = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', '', 'sar'];
  for (const sz of [8, 16, 32, 64]) for (const k of [0, 1, 2, 3, 4, 5, 7]) for (let i = 0; i < N / 4 + 10; i++) {
    const W = BigInt(sz), mask = (1n << W) - 1n;
    const v = value(sz, i), cnt = i % 70, cin = i & 1;
    const c = cpu();
    c.setRflags(0x2 | cin | 0x800 | 0x40); // CF=cin, OF, ZF set: must survive a zero count
    const r = H.shift(c, k, sz, lo(v), hi(v), cnt);
    const got = sz === 64 ? (BigInt(H.rhi >>> 0) << 32n) | BigInt(r >>> 0) : BigInt(r >>> 0);
    const n = BigInt(cnt & (sz === 64 ? 63 : 31));
    let want: bigint, cf: number;
    const bit = (x: bigint, b: bigint) => Number((x >> b) & 1n);
    if (n === 0n) { assert.is(got, v); assert.is(c.getRflags() & 0x8c1, 0x840 | cin, `${names[k]}${sz} count ${cnt} cin ${cin}`); continue; }
    switch (k) {
      case 4: want = (v << n) & mask; cf = n <= W ? bit(v, W - n) : 0; break;
      case 5: want = v >> n; cf = bit(v, n - 1n); break;
      case 7: want = BigInt.asUintN(sz, sext(v, sz) >> n); cf = bit(BigInt.asUintN(sz + 64, sext(v, sz)), n - 1n); break;
      case 0: { const m = n % W; want = ((v << m) | (v >> (W - m))) & mask; cf = Number(want & 1n); break; }
      case 1: { const m = n % W; want = ((v >> m) | (v << (W - m))) & mask; cf = bit(want, W - 1n); break; }
      default: {
        const m = sz === 8 ? n % 9n : sz === 16 ? n % 17n : n;
        const wide = (BigInt(cin) << W) | v, WW = W + 1n;
        const rot = k === 2 ? ((wide << m) | (wide >> (WW - m))) & ((1n << WW) - 1n) : ((wide >> m) | (wide << (WW - m))) & ((1n << WW) - 1n);
        want = rot & mask; cf = bit(rot, W);
      }
    }
    const tag = `${names[k]}${sz} ${v.toString(16)} by ${cnt}`;
    if (sz < 32 && (k === 4 || k === 5) && n >= W) continue; // result/CF undefined for counts >= size (SDM)
    assert.is(got, want, tag);
    assert.is(getCF(c), cf, `${tag} CF`);
    if (n === 1n) {
      const msb = bit(want, W - 1n);
      const of = k === 4 ? msb ^ cf : k === 5 ? bit(v, W - 1n) : k === 7 ? 0 : k === 0 || k === 2 ? msb ^ cf : msb ^ bit(want, W - 2n);
      assert.is(getOF(c), of, `${tag} OF`);
    }
    if (k >= 4) { assert.is(getZF(c), want === 0n ? 1 : 0); assert.is(getSF(c), bit(want, W - 1n)); }
    else assert.is(getZF(c), 1, `${tag}: rotates keep ZF`);
  }
});

test('shld/shrd, bsf/bsr/tzcnt/lzcnt/popcnt', () => {
  for (const sz of [16, 32, 64]) for (let i = 0; i < N; i++) {
    const W = BigInt(sz), mask = (1n << W) - 1n;
    const a = value(sz, i), b = value(sz, i + 3), n = BigInt(i % (sz === 64 ? 64 : 32));
    for (const right of [0, 1]) {
      const c = cpu();
      const r = H.shd(c, right, sz, lo(a), hi(a), lo(b), hi(b), Number(n));
      const got = sz === 64 ? (BigInt(H.rhi >>> 0) << 32n) | BigInt(r >>> 0) : BigInt(r >>> 0);
      if (n === 0n) { assert.is(got, a); continue; }
      if (n > W) continue; // undefined for 16-bit counts > 16
      const want = right ? (((b << W) | a) >> n) & mask : ((((a << W) | b) << n) >> W) & mask;
      const tag = `sh${right ? 'r' : 'l'}d${sz} ${a} ${b} ${n}`;
      assert.is(got, want, tag);
      // CF: the last bit shifted out of the destination; OF (count 1): the sign changed
      const cf = Number(right ? (a >> (n - 1n)) & 1n : (a >> (W - n)) & 1n);
      assert.is(getCF(c), cf, `${tag} CF`);
      if (n === 1n) assert.is(getOF(c), Number((want >> (W - 1n)) & 1n) ^ Number((a >> (W - 1n)) & 1n), `${tag} OF`);
    }
    const c = cpu();
    const v = value(sz, i);
    const tz = v === 0n ? sz : v.toString(2).length - v.toString(2).lastIndexOf('1') - 1;
    const lz = v === 0n ? sz : sz - v.toString(2).length;
    assert.is(H.tzcnt(c, sz, lo(v), hi(v)), tz); assert.is(getCF(c), v === 0n ? 1 : 0);
    assert.is(H.lzcnt(c, sz, lo(v), hi(v)), lz);
    assert.is(H.bsf(c, sz, lo(v), hi(v)), v === 0n ? -1 : tz); assert.is(getZF(c), v === 0n ? 1 : 0);
    assert.is(H.bsr(c, sz, lo(v), hi(v)), v === 0n ? -1 : sz - 1 - lz);
    assert.is(H.popcnt(c, sz, lo(v), hi(v)), [...v.toString(2)].filter((x) => x === '1').length);
  }
});

test.run();
