import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toAddr, toU64, hex16, hex0x, isCanonical, isCanonicalU64, parseAddress, CANON_HI, CANON_LO } from '../../src/base/addr.js';

test('toAddr: kernel addresses become exact negative numbers, user ones stay positive', () => {
  assert.is(toAddr(0xffffffff81000000n), -0x7f000000);
  assert.is(toAddr(0xffffffff81000123n), -0x7efffedd);
  assert.is(toAddr(0xffff888000000001n), -0x777fffffffff);
  assert.is(toAddr(0xffff888000000000n), -0x778000000000);
  assert.is(toAddr(0x400000n), 0x400000);
  assert.is(toAddr(0n), 0);
  assert.is(parseAddress('0xffffffff81000000'), -0x7f000000);
});

test('toU64, hex16 and hex0x give the unsigned 64-bit value (BigInt and the no-BigInt path agree)', () => {
  for (const v of [0xffffffff81000000n, 0xffffffff81234567n, 0xffff800000000000n, 0x7fffffffffffn, 0xffffffffn, 1n, 0n]) {
    assert.is(toU64(toAddr(v)), v);
    assert.is(hex16(toAddr(v)), v.toString(16).padStart(16, '0'));
    assert.is(hex16(v), v.toString(16).padStart(16, '0'));
    assert.is(hex0x(toAddr(v)), '0x' + v.toString(16));
    assert.is(hex0x(v), '0x' + v.toString(16));
  }
  assert.is(hex16(-0x7f000000), 'ffffffff81000000');
  assert.is(hex0x(-0x7f000000), '0xffffffff81000000');
  assert.is(hex0x(0x1a), '0x1a');
  assert.is(hex0x(0), '0x0');
});

test('canonical range is bits 63..47 equal (48-bit virtual addresses), in both forms', () => {
  assert.ok(isCanonical(0x7fffffffffff)); assert.not.ok(isCanonical(0x800000000000));
  assert.ok(isCanonical(-0x800000000000)); assert.not.ok(isCanonical(-0x800000000001));
  assert.is(CANON_HI, 2 ** 47); assert.is(CANON_LO, -(2 ** 47));
  assert.ok(isCanonicalU64(0xffffffff81000000n));
  assert.ok(isCanonicalU64(0x00007fffffffffffn));
  assert.not.ok(isCanonicalU64(0x0000800000000000n));
  assert.not.ok(isCanonicalU64(0x8000000000000000n));
});

test.run();
