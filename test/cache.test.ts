import { test } from 'uvu';
import { createHash } from 'node:crypto';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, copyFileSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { CACHE_FORMAT, cachePath, cacheRoot, imageKey, readCache, writeCache } from '../src/cache.js';
import { FIXTURE } from './elf/fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'ktrace-cache-'));
const env = { XDG_CACHE_HOME: join(tmp, 'xdg') } as NodeJS.ProcessEnv;

test('the root follows $XDG_CACHE_HOME, ignores a relative one, else ~/.cache/ktrace', () => {
  assert.is(cacheRoot(env), join(tmp, 'xdg', 'ktrace'));
  assert.ok(cacheRoot({ XDG_CACHE_HOME: 'rel', HOME: '/h' }).endsWith(join('.cache', 'ktrace')));
});

test('an entry reads back only under its own kind and key', () => {
  const payload = Buffer.from('index bytes '.repeat(100));
  assert.ok(writeCache('index', 'a', 'k1', payload, env));
  assert.equal(readCache('index', 'a', 'k1', env), payload);
  assert.is(readCache('index', 'a', 'k2', env), null, 'stale key');
  assert.ok(writeCache('index', 'a', 'k1', payload, env));
  assert.is(readCache('snapshot', 'a', 'k1', env), null, 'other kind (missing file)');
  assert.equal(readdirSync(join(cacheRoot(env), 'index')), ['a'], 'no temporary files left behind');
});

test('a corrupt or truncated entry reads as absent and is removed', () => {
  const payload = Buffer.alloc(4096, 7);
  writeCache('index', 'c', 'k', payload, env);
  const p = cachePath('index', 'c', env);
  const good = readFileSync(p);
  const flipped = Buffer.from(good);
  flipped[flipped.length - 10] ^= 1;
  writeFileSync(p, flipped);
  assert.is(readCache('index', 'c', 'k', env), null, 'bit flip in the payload');
  writeFileSync(p, good.subarray(0, good.length - 1));
  assert.is(readCache('index', 'c', 'k', env), null, 'truncated');
  writeFileSync(p, 'garbage');
  assert.is(readCache('index', 'c', 'k', env), null, 'garbage');
  assert.throws(() => readFileSync(p), 'the bad entry was removed');
  writeFileSync(p, good);
  assert.equal(readCache('index', 'c', 'k', env), payload);
});

test('a large entry is checked by CRC-32: read back whole, a flipped bit or a swapped word is corruption; a SHA-256 entry of that size still reads', () => {
  const payload = Buffer.alloc(3 << 20);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 2654435761) >>> 24;
  writeCache('snapshot', 'big', 'k', payload, env);
  const p = cachePath('snapshot', 'big', env);
  const good = readFileSync(p);
  const metaLen = good.readUInt32LE(8);
  assert.is(JSON.parse(good.toString('utf8', 12, 12 + metaLen)).sum, 'crc32');
  assert.ok(readCache('snapshot', 'big', 'k', env)!.equals(payload));
  for (const at of [0, 12345, payload.length - 1]) {
    const bad = Buffer.from(good);
    bad[12 + metaLen + 32 + at] ^= 0x10;
    writeFileSync(p, bad);
    assert.is(readCache('snapshot', 'big', 'k', env), null, `bit flip at ${at}`);
  }
  const swapped = Buffer.from(good);
  const at = 12 + metaLen + 32 + 4096;
  swapped.copy(swapped, at, at + 4, at + 8); good.copy(swapped, at + 4, at, at + 4);
  writeFileSync(p, swapped);
  assert.is(readCache('snapshot', 'big', 'k', env), null, 'two words swapped');
  // an entry written with SHA-256 (by an earlier ktrace) is still valid
  const meta = Buffer.from(JSON.stringify({ kind: 'snapshot', key: 'k', format: CACHE_FORMAT, length: payload.length }));
  const len = Buffer.alloc(4); len.writeUInt32LE(meta.length);
  writeFileSync(p, Buffer.concat([good.subarray(0, 8), len, meta, createHash('sha256').update(payload).digest(), payload]));
  assert.ok(readCache('snapshot', 'big', 'k', env)!.equals(payload));
});

test('KTRACE_NO_CACHE turns the cache off', () => {
  const off = { ...env, KTRACE_NO_CACHE: '1' };
  assert.is(writeCache('index', 'n', 'k', Buffer.from('x'), off), false);
  writeCache('index', 'n', 'k', Buffer.from('x'), env);
  assert.is(readCache('index', 'n', 'k', off), null);
});

test('an unwritable cache folder is no error: the write reports false', () => {
  if (process.getuid?.() === 0) {
    // root writes through permissions: make the root a file instead
    const file = join(tmp, 'afile');
    writeFileSync(file, '');
    assert.is(writeCache('index', 'x', 'k', Buffer.from('x'), { XDG_CACHE_HOME: file }), false);
  } else {
    const ro = join(tmp, 'ro');
    execFileSync('mkdir', ['-p', ro]);
    chmodSync(ro, 0o500);
    assert.is(writeCache('index', 'x', 'k', Buffer.from('x'), { XDG_CACHE_HOME: ro }), false);
  }
});

test('image keys: the content for a small image without a build-id, the build-id where there is one', () => {
  const a = imageKey(FIXTURE);
  assert.match(a, /^sha-[0-9a-f]{40}$/);
  const copy = join(tmp, 'vmlinux');
  copyFileSync(FIXTURE, copy);
  assert.is(imageKey(copy), a, 'same bytes, same key');
  const changed = readFileSync(copy);
  changed[changed.length - 1] ^= 0xff;
  writeFileSync(copy, changed);
  assert.is.not(imageKey(copy), a, 'a changed byte changes the key');
  // A linked ELF with a GNU build-id note, where the toolchain is present.
  try {
    const src = join(tmp, 'b.c');
    writeFileSync(src, 'int main(void){return 0;}\n');
    const out = join(tmp, 'b');
    execFileSync('gcc', ['-Wl,--build-id=sha1', '-o', out, src], { stdio: 'ignore' });
    const note = execFileSync('readelf', ['-n', out], { encoding: 'utf8' });
    const id = /Build ID: ([0-9a-f]+)/.exec(note)![1];
    assert.is(imageKey(out), `bid-${id}`);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') console.log('SKIP build-id key: gcc or readelf missing');
    else throw e;
  }
});

test('a kind is kept under $KTRACE_CACHE_MAX_MB: the least recently used entries go first, the one just written stays', () => {
  const e = { XDG_CACHE_HOME: join(tmp, 'lru'), KTRACE_CACHE_MAX_MB: '1' } as NodeJS.ProcessEnv;
  const mib = Buffer.alloc(400 << 10, 1);
  writeCache('snapshot', 'a', 'k', mib, e);
  writeCache('snapshot', 'b', 'k', mib, e);
  // 'a' older than 'b' by its mtime, then read: a read makes it the most recently used
  const old = new Date(Date.now() - 60_000);
  utimesSync(cachePath('snapshot', 'a', e), old, old);
  utimesSync(cachePath('snapshot', 'b', e), new Date(Date.now() - 30_000), new Date(Date.now() - 30_000));
  assert.ok(readCache('snapshot', 'a', 'k', e));
  writeCache('snapshot', 'c', 'k', mib, e);
  assert.equal(readdirSync(join(cacheRoot(e), 'snapshot')).sort(), ['a', 'c'], 'b, least recently used, was removed');
  writeCache('snapshot', 'big', 'k', Buffer.alloc(2 << 20), e);
  assert.equal(readdirSync(join(cacheRoot(e), 'snapshot')), ['big'], 'an entry over the limit alone is still kept');
  assert.is(readCache('snapshot', 'big', 'k', e)?.length, 2 << 20);
});

test.run();
