import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeCommands, WRITE_BUFSIZE } from '../../../src/trace/kprobe-events/write.js';

test('lines, comments, trailing newline', () => {
  assert.equal([...writeCommands('p a\nr b # note\n# only\n\n')],
    [{ ok: true, line: 'p a' }, { ok: true, line: 'r b ' }, { ok: true, line: '' }, { ok: true, line: '' }]);
  assert.equal([...writeCommands('p a')], [{ ok: true, line: 'p a' }]);
  assert.equal([...writeCommands('')], [{ ok: true, line: '' }]);
});

test('an over-long line fails when reached, earlier lines stand', () => {
  const steps = [...writeCommands(`p a\n${'x'.repeat(WRITE_BUFSIZE - 1)}\np b\n`)];
  assert.is(steps.length, 2);
  assert.equal(steps[0], { ok: true, line: 'p a' });
  assert.equal(steps[1], { ok: false, errno: -22, reason: 'Line length is too long: Should be less than 4094' });
  assert.is([...writeCommands('x'.repeat(WRITE_BUFSIZE - 2))].length, 1);
  assert.ok([...writeCommands('x'.repeat(WRITE_BUFSIZE - 2))][0]!.ok);
});

test.run();
