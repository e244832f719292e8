import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toAddr, toU64, isCanonical, halvesToNum, halvesToBig, hex, CANON_HI, CANON_LO } from '../../src/emu/addr.js';

test('addresses are signed canonical numbers and convert exactly to and from u64', () => {
  assert.is(toAddr(0xffffffff81000000n), -0x7f000000);
  assert.is(toAddr(0xffff888000000000n), -0x778000000000);
  assert.is(toAddr(0x400000n), 0x400000);
  assert.is(toU64(-0x7f000000), 0xffffffff81000000n);
  assert.is(toU64(toAddr(0xffff800000000000n)), 0xffff800000000000n);
  assert.is(hex(-0x7f000000), '0xffffffff81000000');
});

test('canonical range is bits 63..47 equal (48-bit virtual addresses)', () => {
  assert.ok(isCanonical(0x7fffffffffff)); assert.not.ok(isCanonical(0x800000000000));
  assert.ok(isCanonical(-0x800000000000)); assert.not.ok(isCanonical(-0x800000000001));
  assert.is(CANON_HI, 2 ** 47); assert.is(CANON_LO, -(2 ** 47));
});

test('32-bit halves', () => {
  assert.is(halvesToNum(0x81000000, 0xffffffff), -0x7f000000);
  assert.is(halvesToBig(0x81000000, 0xffffffff), 0xffffffff81000000n);
  assert.is(halvesToNum(5, 0), 5);
});

test.run();
