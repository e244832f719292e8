// Lazy flags: each kind's CF/PF/AF/ZF/SF/OF from the stored operands, at every width, against the
// definitions in the SDM (Vol. 1, 3.4.3.1 and the ADD/ADC/SUB/SBB/INC/DEC pages).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { K_ADC, K_ADD, K_DEC, K_EXPL, K_INC, K_LOGIC, K_RAW, K_SBB, K_SUB, arithFlags, cond, getAF, getCF, getOF, getPF, getSF, getZF, setArithFlags, type LazyFlags } from '../../src/emu/flags.js';

function lf(kind: number, sz: number, a: bigint, b: bigint, r: bigint, cin = 0): LazyFlags {
  const lo = (v: bigint) => Number(v & 0xffffffffn), hi = (v: bigint) => Number((v >> 32n) & 0xffffffffn);
  return { fk: kind, fsz: sz, fa0: lo(a), fa1: hi(a), fb0: lo(b), fb1: hi(b), fr0: lo(r), fr1: hi(r), fcf: cin, fof: 0, faf: 0, fraw: 0 };
}
/** reference: the result and flags of a+b+cin or a-b-cin computed with unbounded integers */
function ref(sub: boolean, sz: number, a: bigint, b: bigint, cin: number) {
  const W = BigInt(sz), mask = (1n << W) - 1n, sa = BigInt.asIntN(sz, a), sb = BigInt.asIntN(sz, b);
  const full = sub ? a - b - BigInt(cin) : a + b + BigInt(cin);
  const sfull = sub ? sa - sb - BigInt(cin) : sa + sb + BigInt(cin);
  const r = full & mask;
  let p = 1; for (let i = 0n; i < 8n; i++) p ^= Number((r >> i) & 1n);
  return { r, cf: full < 0n || full > mask ? 1 : 0, of: sfull !== BigInt.asIntN(sz, r) ? 1 : 0, zf: r === 0n ? 1 : 0,
    sf: Number((r >> (W - 1n)) & 1n), pf: p, af: Number(((a ^ b ^ r) >> 4n) & 1n) };
}

test('add/adc/sub/sbb/inc/dec flags at 8/16/32/64 bits, including carry-in edge cases', () => {
  const vals = [0n, 1n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn,
    0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0x0123456789abcdefn];
  let n = 0;
  for (const sz of [8, 16, 32, 64]) {
    const mask = (1n << BigInt(sz)) - 1n;
    for (const A of vals) for (const B of vals) for (const cin of [0, 1]) {
      const a = A & mask, b = B & mask;
      for (const [kind, sub, c] of [[K_ADD, false, 0], [K_ADC, false, cin], [K_SUB, true, 0], [K_SBB, true, cin]] as [number, boolean, number][]) {
        const e = ref(sub, sz, a, b, c);
        const f = lf(kind, sz, a, b, e.r, c);
        const tag = `kind ${kind} sz ${sz} ${a.toString(16)} ${b.toString(16)} cin ${c}`;
        assert.is(getCF(f), e.cf, tag + ' CF'); assert.is(getOF(f), e.of, tag + ' OF'); assert.is(getZF(f), e.zf, tag + ' ZF');
        assert.is(getSF(f), e.sf, tag + ' SF'); assert.is(getPF(f), e.pf, tag + ' PF'); assert.is(getAF(f), e.af, tag + ' AF');
        n++;
      }
      // inc/dec: as add/sub 1, CF carried over from before
      for (const [kind, sub] of [[K_INC, false], [K_DEC, true]] as [number, boolean][]) {
        const e = ref(sub, sz, a, 1n, 0);
        const f = lf(kind, sz, a, 1n, e.r, cin);
        assert.is(getCF(f), cin); assert.is(getOF(f), e.of); assert.is(getAF(f), e.af); assert.is(getZF(f), e.zf);
      }
    }
  }
  assert.ok(n > 3000);
});

test('logic clears CF/OF/AF; explicit and raw kinds return what was stored', () => {
  const f = lf(K_LOGIC, 32, 0n, 0n, 0x80000000n);
  assert.is(arithFlags(f), 0x80 | 0x4); // SF, PF (low byte 0)
  const e = lf(K_EXPL, 16, 0n, 0n, 0n); e.fcf = 1; e.fof = 1; e.faf = 1;
  assert.is(arithFlags(e), 0x1 | 0x800 | 0x10 | 0x40 | 0x4);
  setArithFlags(e, 0xffffffff);
  assert.is(e.fk, K_RAW); assert.is(arithFlags(e), 0x8d5);
});

test('conditions follow the tttn table: signed and unsigned comparisons', () => {
  // cmp a, b at 32 bits for a few pairs: b (CF), be, l, le and their negations
  const pairs: [bigint, bigint][] = [[1n, 2n], [2n, 1n], [5n, 5n], [0xffffffffn, 1n], [0x80000000n, 0x7fffffffn]];
  for (const [a, b] of pairs) {
    const e = ref(true, 32, a, b, 0), f = lf(K_SUB, 32, a, b, e.r);
    const sa = BigInt.asIntN(32, a), sb = BigInt.asIntN(32, b);
    const want = [e.of === 1, e.of === 0, a < b, a >= b, a === b, a !== b, a <= b, a > b, e.sf === 1, e.sf === 0,
      e.pf === 1, e.pf === 0, sa < sb, sa >= sb, sa <= sb, sa > sb];
    for (let cc = 0; cc < 16; cc++) assert.is(cond(f, cc), want[cc], `cc ${cc} ${a} ${b}`);
  }
});

test.run();
