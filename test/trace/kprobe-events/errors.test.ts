import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ERRORS, probeLogErr } from '../../../src/trace/kprobe-events/errors.js';

test('error texts are the kernel\'s, typos included', () => {
  assert.is(ERRORS.BAD_VAR, 'Invalid $-valiable specified');
  assert.is(ERRORS.BAD_RETPROBE, 'Retprobe address must be an function entry');
  assert.is(ERRORS.IMMSTR_NO_CLOSE, 'String is not closed with \'"\'');
  assert.is(Object.keys(ERRORS).length, 80);
});

test('positions: word start plus offset; past the last word points one after the end', () => {
  const argv = ['p:ev', 'vfs_read', 'a=%di'];
  assert.equal(probeLogErr(argv, 0, 2, 'BAD_EVENT_NAME'),
    { code: 'BAD_EVENT_NAME', message: ERRORS.BAD_EVENT_NAME, pos: 2, command: 'p:ev vfs_read a=%di', subsystem: 'trace_kprobe' });
  assert.is(probeLogErr(argv, 1, 0, 'BAD_PROBE_ADDR').pos, 5);
  assert.is(probeLogErr(argv, 2, 2, 'BAD_REG_NAME').pos, 16);
  assert.is(probeLogErr(argv, 3, 7, 'DIFF_ARG_TYPE').pos, 20);
});

test.run();
