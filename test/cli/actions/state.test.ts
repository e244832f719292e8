// The state commands' common skeleton: openState gives the image, the tracing layer and the state
// directory of the arguments; load reads it, update changes it under the lock (nothing written when
// the change returns no state).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openState } from '../../../src/cli/actions/state.js';
import { STATE_FILE } from '../../../src/cli/state/store.js';
import { FIXTURE } from '../../elf/fixture.js';
import { freshState } from '../run.js';

test('openState: load, update under the lock, and a change that returns no state writes nothing', async () => {
  const dir = freshState();
  const args = { vmlinux: FIXTURE, state: dir };
  const a = await openState(args);
  assert.is(a.dir, dir);
  assert.ok(a.image.symbolAddr('vfs_read') !== undefined);
  assert.is(a.update(() => ({ result: 7 })), 7);
  assert.not.ok(existsSync(join(dir, STATE_FILE)), 'a dry run writes no state file');
  const n = a.update((s) => {
    const session = a.t.light(a.image, s);
    assert.ok(session.events.write('p:kprobes/x vfs_read\n') > 0);
    return { state: { ...s, ...session.snapshot() }, result: session.events.probes.length };
  });
  assert.is(n, 1);
  assert.is((await openState(args)).load().kprobeEvents, 'p:kprobes/x vfs_read\n');
});

test.run();
