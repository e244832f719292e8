import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { withLock, LockTimeout, LOCK_FILE } from '../../../src/cli/state/lock.js';
import { tempDir } from '../run.js';

const dir = () => tempDir('ktrace-lock-');

test('withLock holds the lock file with our pid and releases it, also on a throw', () => {
  const d = dir();
  const seen = withLock(d, () => readFileSync(join(d, LOCK_FILE), 'utf8'));
  assert.is(seen, String(process.pid));
  assert.not.ok(existsSync(join(d, LOCK_FILE)));
  assert.throws(() => withLock(d, () => { throw new Error('boom'); }), /boom/);
  assert.not.ok(existsSync(join(d, LOCK_FILE)));
});

test('a lock held by a live process times out; a dead holder\'s lock is stale and taken over', () => {
  const d = dir();
  writeFileSync(join(d, LOCK_FILE), String(process.pid)); // live: ourselves
  assert.throws(() => withLock(d, () => 1, 50), (e: unknown) => e instanceof LockTimeout && /locked by process \d+/.test((e as Error).message));
  // A pid that has exited: a child that ran and ended.
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  writeFileSync(join(d, LOCK_FILE), child.stdout);
  assert.is(withLock(d, () => 42, 2000), 42);
  assert.not.ok(existsSync(join(d, LOCK_FILE)));
});

test.run();
