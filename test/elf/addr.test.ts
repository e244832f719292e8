import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { toAddr, toU64, hex, hex0x, isCanonical } from '../../src/elf/addr.js';

test('toAddr: kernel addresses become exact negative numbers, user ones stay positive', () => {
  assert.is(toAddr(0xffffffff81000000n), -0x7f000000);
  assert.is(toAddr(0xffffffff81000123n), -0x7efffedd);
  assert.is(toAddr(0xffff888000000001n), -0x777fffffffff);
  assert.is(toAddr(0x400000n), 0x400000);
  assert.is(toAddr(0n), 0);
});

test('toU64 and hex round-trip the 64-bit value', () => {
  for (const v of [0xffffffff81000000n, 0xffffffff81234567n, 0xffff800000000000n, 0x7fffffffffffn, 1n, 0n]) {
    assert.is(toU64(toAddr(v)), v);
    assert.is(hex(toAddr(v)), v.toString(16).padStart(16, '0'));
    assert.is(hex(v), v.toString(16).padStart(16, '0'));
  }
  assert.is(hex(-0x7f000000), 'ffffffff81000000');
  assert.is(hex0x(0x1a), '0x1a');
  assert.is(hex0x(0), '0x0');
});

test('isCanonical', () => {
  assert.ok(isCanonical(0xffffffff81000000n));
  assert.ok(isCanonical(0x00007fffffffffffn));
  assert.not.ok(isCanonical(0x0000800000000000n));
  assert.not.ok(isCanonical(0x8000000000000000n));
});

test.run();
