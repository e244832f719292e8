// The fuzz harness can fail: a planted hang, a planted crash (an exception no user error), a planted
// multi-line error and planted output are each reported, against their case, and the cases after a
// hang still run. A text campaign runs in the same harness: its failures and hangs name the input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fuzz, isMainThread, mutate, mutateBytes, byteRng, runCampaign, serveCampaign, serveFuzz, type Campaign } from './fuzz.js';

class UserError extends Error {}

const corpus = ['p:kprobes/myprobe vfs_read fd=%di:u32 buf=+0(%si):string cnt=%dx', 'r:g/e vfs_write $retval'];
const planted: Campaign = {
  name: 'planted',
  corpus,
  check(input) {
    if (input === mutate(corpus, 1)) for (;;) { /* planted hang */ }
    if (input === mutate(corpus, 4)) throw new RangeError('planted campaign failure');
  },
};

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
    assert.equal(mutateBytes(src, byteRng(7)), mutateBytes(src, byteRng(7)));
    assert.not.equal(mutateBytes(src, byteRng(7)), src);
  });

  test('a text campaign is a target of the same harness: a hang and a failure, each with its input', async () => {
    const r = await runCampaign(import.meta.url, planted, 6, 400);
    assert.is(r.hangs, 1);
    assert.is(r.failures.length, 2, r.failures.join('\n'));
    assert.ok(r.failures[0]!.startsWith(`case 1: no result within 400 ms (a hang): input ${JSON.stringify(mutate(corpus, 1))}`), r.failures[0]);
    assert.ok(r.failures[1]!.startsWith(`case 4: input ${JSON.stringify(mutate(corpus, 4))}\n    RangeError: planted campaign failure`), r.failures[1]);
  });

  test.run();
} else if (!serveCampaign(planted)) {
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
