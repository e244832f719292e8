import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kstrtoul, kstrtol, kstrtouint, simpleStrtoul } from '../../../src/trace/kprobe-events/numbers.js';

const v = (r: { ok: boolean; value?: bigint; errno?: number }) => (r.ok ? r.value : r.errno);

test('kstrtoul: bases, sign, newline, overflow', () => {
  assert.is(v(kstrtoul('10')), 10n);
  assert.is(v(kstrtoul('0x1F')), 31n);
  assert.is(v(kstrtoul('0X1f')), 31n);
  assert.is(v(kstrtoul('010')), 8n);
  assert.is(v(kstrtoul('0')), 0n);
  assert.is(v(kstrtoul('+7')), 7n);
  assert.is(v(kstrtoul('7\n')), 7n);
  assert.is(v(kstrtoul('7\n\n')), -22);
  assert.is(v(kstrtoul('-1')), -22);
  assert.is(v(kstrtoul('')), -22);
  assert.is(v(kstrtoul('0x')), -22);
  assert.is(v(kstrtoul('08')), -22);
  assert.is(v(kstrtoul('12a')), -22);
  assert.is(v(kstrtoul('18446744073709551615')), 18446744073709551615n);
  assert.is(v(kstrtoul('18446744073709551616')), -34);
  assert.is(v(kstrtoul('0xffffffffffffffff')), 0xffffffffffffffffn);
  assert.is(v(kstrtoul('ff', 16)), 255n);
  assert.is(v(kstrtoul('0xff', 16)), 255n);
  assert.is(v(kstrtoul('10', 10)), 10n);
  assert.is(v(kstrtoul('0x10', 10)), -22);
});

test('kstrtol: signed range', () => {
  assert.is(v(kstrtol('-8')), -8n);
  assert.is(v(kstrtol('-0x10')), -16n);
  assert.is(v(kstrtol('+5')), 5n);
  assert.is(v(kstrtol('9223372036854775807')), 9223372036854775807n);
  assert.is(v(kstrtol('9223372036854775808')), -34);
  assert.is(v(kstrtol('-9223372036854775808')), -9223372036854775808n);
  assert.is(v(kstrtol('-9223372036854775809')), -34);
  assert.is(v(kstrtol('--1')), -22);
  assert.is(v(kstrtol('-+1')), -22);
});

test('kstrtouint and simple_strtoul', () => {
  assert.is(v(kstrtouint('4294967295')), 4294967295n);
  assert.is(v(kstrtouint('4294967296')), -34);
  assert.equal(simpleStrtoul('b10@3/8', 1), { value: 10n, end: 3 });
  assert.equal(simpleStrtoul('b0x1f@', 1), { value: 31n, end: 5 });
  assert.equal(simpleStrtoul('ba', 1), { value: 0n, end: 1 });
});

test.run();
