import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync, copyFileSync, readdirSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { cachePath, cacheRoot, checksum, imageKey, readCache, writeCache } from '../src/cache.js';
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

test("entries are checked with zlib's CRC-32; an earlier build's entry with a SHA-256 still reads, a bad one is removed", () => {
  const payload = Buffer.from('payload '.repeat(300));
  writeCache('index', 'crc', 'k', payload, env);
  const p = cachePath('index', 'crc', env);
  const bytes = readFileSync(p);
  assert.is(bytes.toString('latin1', 0, 8), 'KTRACEC2');
  assert.is(bytes.readUInt32LE(bytes.length - payload.length - 4), crc32(payload), 'the CRC-32 precedes the payload');
  assert.is(checksum(payload), crc32(payload));
  assert.is(checksum('text'), crc32(Buffer.from('text')), 'a string is checked as its UTF-8');
  // The format of the entries earlier builds wrote: KTRACEC1, the same header, a SHA-256 of the payload.
  const meta = Buffer.from(JSON.stringify({ kind: 'index', key: 'k', format: 1, length: payload.length }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(meta.length);
  const sha = createHash('sha256').update(payload).digest();
  writeFileSync(p, Buffer.concat([Buffer.from('KTRACEC1'), len, meta, sha, payload]));
  assert.equal(readCache('index', 'crc', 'k', env), payload, 'a SHA-256 entry reads');
  sha[0] ^= 1;
  writeFileSync(p, Buffer.concat([Buffer.from('KTRACEC1'), len, meta, sha, payload]));
  assert.is(readCache('index', 'crc', 'k', env), null, 'a SHA-256 that differs');
  assert.throws(() => readFileSync(p), 'the bad entry was removed');
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
