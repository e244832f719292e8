import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync, existsSync, readFileSync, readdirSync, utimesSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { withLock, LockTimeout, LockError, LOCK_FILE, parseOwner, processStart, staleReason, GARBAGE_GRACE_MS } from '../../../src/cli/state/lock.js';
import { FIXTURE } from '../../elf/fixture.js';
import { MAIN, tempDir } from '../run.js';

const dir = () => tempDir('ktrace-lock-');
const old = (path: string) => { const t = new Date(Date.now() - 60_000); utimesSync(path, t, t); };
const deadPid = () => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);

test('withLock holds a lock naming us (pid, start time, host) and releases it, also on a throw', () => {
  const d = dir();
  const seen = parseOwner(withLock(d, () => readFileSync(join(d, LOCK_FILE), 'utf8')))!;
  assert.is(seen.pid, process.pid);
  assert.is(seen.host, hostname());
  assert.is(seen.start, processStart(process.pid));
  assert.ok(seen.start !== undefined, '/proc/PID/stat gives the start time');
  assert.not.ok(existsSync(join(d, LOCK_FILE)));
  assert.throws(() => withLock(d, () => { throw new Error('boom'); }), /boom/);
  assert.equal(readdirSync(d), [], 'no lock, no temporary file');
});

test('a live owner is waited for; the timeout names it and the file to remove', () => {
  const d = dir();
  const me = JSON.stringify({ pid: process.pid, start: processStart(process.pid), host: hostname(), cmd: 'ktrace add x', since: Date.now(), nonce: 'n' });
  writeFileSync(join(d, LOCK_FILE), me);
  old(join(d, LOCK_FILE));
  assert.throws(() => withLock(d, () => 1, 50), (e: unknown) => e instanceof LockTimeout
    && (e as Error).message.includes(`locked by process ${process.pid} (ktrace add x, since `) && (e as Error).message.endsWith(`remove ${join(d, LOCK_FILE)}`));
  // Another host's process cannot be checked from here: waited for too, and named.
  writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: 1, host: 'elsewhere', cmd: 'ktrace run', since: 0, nonce: 'n' }));
  assert.throws(() => withLock(d, () => 1, 50), /locked by process 1 on host elsewhere \(ktrace run\)/);
  // A fresh file that names no owner yet (an older ktrace between open and write): waited for.
  writeFileSync(join(d, LOCK_FILE), '');
  assert.throws(() => withLock(d, () => 1, 50), /locked by a lock file that names no owner; if no ktrace is running there, remove/);
  assert.is(staleReason('', Date.now() - GARBAGE_GRACE_MS), 'it names no owner');
});

test('stale locks are taken over at once: empty, garbage, dead pid, reused pid, before a reboot, older formats', () => {
  const host = hostname();
  const start = processStart(process.pid)!;
  const dead = deadPid();
  const sleeper = spawn('sleep', ['30']);
  const cases: [string, string][] = [
    ['empty', ''],
    ['garbage', '\x00\x01garbage{'],
    ['dead pid', JSON.stringify({ pid: dead, start: '1', host, cmd: 'ktrace add', since: 0, nonce: 'n' })],
    ['reused pid (our pid, another start time)', JSON.stringify({ pid: process.pid, start: String(Number(start) + 1), host, cmd: 'ktrace add', since: 0, nonce: 'n' })],
    ['before a reboot', JSON.stringify({ pid: process.pid, start, boot: 'another-boot', host, cmd: 'ktrace add', since: 0, nonce: 'n' })],
    ['older ktrace, dead pid', String(dead)],
    ['older ktrace, pid of another program', String(sleeper.pid)],
  ];
  try {
    for (const [what, text] of cases) {
      const d = dir();
      writeFileSync(join(d, LOCK_FILE), text);
      old(join(d, LOCK_FILE));
      const t0 = Date.now();
      assert.is(withLock(d, () => 42, 5000), 42, what);
      assert.ok(Date.now() - t0 < 1000, `${what}: taken over in ${Date.now() - t0} ms`);
      assert.equal(readdirSync(d), [], `${what}: nothing left behind`);
    }
  } finally {
    sleeper.kill();
  }
});

test('a breaker killed while breaking a stale lock (lock.break left behind) does not block the next one', () => {
  const d = dir();
  const dead = deadPid();
  const owner = JSON.stringify({ pid: dead, start: '1', host: hostname(), cmd: 'ktrace add', since: 0, nonce: 'n' });
  writeFileSync(join(d, LOCK_FILE), owner);
  writeFileSync(join(d, `${LOCK_FILE}.break`), owner.replace('"n"', '"m"'));
  const t0 = Date.now();
  assert.is(withLock(d, () => 7, 5000), 7);
  assert.ok(Date.now() - t0 < 1000, `${Date.now() - t0} ms`);
  assert.equal(readdirSync(d), []);
});

test('an unwritable state directory is one line naming it', () => {
  const d = dir();
  const ro = join(d, 'ro');
  mkdirSync(ro);
  chmodSync(ro, 0o555);
  chmodSync(d, 0o755);
  const asRoot = process.getuid?.() === 0;
  if (!asRoot) {
    assert.throws(() => withLock(ro, () => 1), (e: unknown) => e instanceof LockError && /^state directory .*\/ro is not writable \(permission denied\)/.test((e as Error).message));
  }
  // As a user would see it (as nobody when the tests run as root, who may write anywhere).
  const r = spawnSync(process.execPath, [MAIN, '-k', FIXTURE, 'add', 'vfs_read'], {
    encoding: 'utf8', env: { ...process.env, KTRACE_STATE: ro }, ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
  });
  if (asRoot && /EACCES|Cannot find module|permission denied, open '.*(dist|node_modules)/.test(r.stderr + (r.error?.message ?? ''))) {
    console.log(`SKIP unwritable-directory CLI check: the build cannot be run as nobody (${(r.stderr || r.error?.message || '').split('\n')[0]})`);
    return;
  }
  assert.is(r.status, 1);
  assert.is(r.stderr, `ktrace: state directory ${ro} is not writable (permission denied): cannot take its lock; fix its permissions or use another --state DIR\n`);
  const sub = spawnSync(process.execPath, [MAIN, '-k', FIXTURE, 'add', 'vfs_read'], {
    encoding: 'utf8', env: { ...process.env, KTRACE_STATE: join(ro, 'sub') }, ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
  });
  assert.is(sub.stderr, `ktrace: cannot create state directory ${join(ro, 'sub')} (permission denied); use --state DIR or KTRACE_STATE for another one\n`);
});

test.run();
