import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { argvSplit } from '../../../src/trace/kprobe-events/argv.js';

test('splits on runs of whitespace, no quoting', () => {
  assert.equal(argvSplit('p vfs_read %di'), ['p', 'vfs_read', '%di']);
  assert.equal(argvSplit('  p\tvfs_read \v\f\r %di \n'), ['p', 'vfs_read', '%di']);
  assert.equal(argvSplit('p f a=\\"x y"'), ['p', 'f', 'a=\\"x', 'y"']);
  assert.equal(argvSplit(''), []);
  assert.equal(argvSplit(' \t '), []);
});

test.run();
