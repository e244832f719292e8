// The fuzz harness can fail: a planted hang, a planted crash (an exception no user error), a planted
// multi-line error and planted output are each reported, against their case, and the cases after a
// hang still run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fuzz, isMainThread, mutate, rng, serveFuzz } from './fuzz-harness.js';

class UserError extends Error {}

if (isMainThread) {
  test('hangs, crashes, multi-line errors and output are caught; the other cases still run', async () => {
    const r = await fuzz(import.meta.url, 12, 400);
    assert.equal(r.hangs, ['case 3: no result within 400 ms']);
    assert.is(r.failures.length, 3, r.failures.join('\n'));
    assert.match(r.failures[0]!, /^case 5: TypeError: planted/);
    assert.match(r.failures[1]!, /^case 7: not a one-line error/);
    assert.match(r.failures[2]!, /^case 9: wrote "planted output/);
    // Results: 0-2, 4, 6, 8 and 9 (its output is a failure besides); errors: 10 and 11 (7's is not one line).
    assert.is(r.results, 7);
    assert.is(r.errors, 2);
  });

  test('mutations are seeded: the same seed gives the same bytes', () => {
    const src = new Uint8Array(256).map((_, i) => i);
    assert.equal(mutate(src, rng(7)), mutate(src, rng(7)));
    assert.not.equal(mutate(src, rng(7)), src);
  });

  test.run();
} else {
  serveFuzz(() => ({
    run(i) {
      if (i === 3) for (;;) { /* planted hang */ }
      if (i === 5) throw new TypeError('planted');
      if (i === 7) throw new UserError('planted\nsecond line');
      if (i === 9) process.stdout.write('planted output\n');
      if (i === 10 || i === 11) throw new UserError('a one-line error');
    },
    expected: (e) => e instanceof UserError,
  }));
}
