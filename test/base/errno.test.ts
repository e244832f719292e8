import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ERRNO, EINVAL, ENOENT, EFAULT, strerror } from '../../src/base/errno.js';

test('constants are positive, as in the kernel\'s errno headers', () => {
  assert.is(EINVAL, 22); assert.is(ENOENT, 2); assert.is(EFAULT, 14);
  for (const [name, n] of Object.entries(ERRNO)) assert.ok(n > 0 && n < 4096, name);
  assert.is(new Set(Object.values(ERRNO)).size, Object.keys(ERRNO).length, 'no two names share a number');
});

test('strerror', () => {
  assert.is(strerror(-2), 'No such file or directory');
  assert.is(strerror(22), 'Invalid argument');
  assert.is(strerror(-21), 'Is a directory');
});

test.run();
