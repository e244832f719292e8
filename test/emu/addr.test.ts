import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { halvesToNum, halvesToBig } from '../../src/emu/addr.js';

test('32-bit halves', () => {
  assert.is(halvesToNum(0x81000000, 0xffffffff), -0x7f000000);
  assert.is(halvesToBig(0x81000000, 0xffffffff), 0xffffffff81000000n);
  assert.is(halvesToNum(5, 0), 5);
});

test.run();
