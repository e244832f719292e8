import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { bytesText, decodeText, hasRawBytes, rawBase64, textBytes, wellFormed } from '../../src/base/text.js';

/** A seeded generator of byte strings weighted towards UTF-8's edges (lead bytes, continuations, overlongs, surrogates). */
function* samples(n: number, seed = 7): Generator<Uint8Array> {
  let s = seed;
  const rnd = (k: number) => { s = (s * 1103515245 + 12345) >>> 0; return (s >>> 8) % k; };
  const pool = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xa0, 0x9f, 0xed, 0xef, 0xf0, 0x90, 0x8f, 0xf4, 0xf5, 0xff, 0xfe];
  for (let i = 0; i < n; i++) {
    const len = rnd(12);
    const b = new Uint8Array(len);
    for (let k = 0; k < len; k++) b[k] = rnd(3) === 0 ? rnd(256) : pool[rnd(pool.length)]!;
    yield b;
  }
}

test('valid UTF-8 decodes to its characters; other bytes round-trip through textBytes', () => {
  assert.is(bytesText([0x63, 0x61, 0x66, 0xc3, 0xa9]), 'caf\u00e9');
  assert.is(bytesText([0x61, 0x62]), 'ab');
  assert.is(bytesText([0xf0, 0x9f, 0x98, 0x80]), '\u{1f600}');
  assert.is(bytesText([0x78, 0xe9, 0x79]), 'x\udce9y');
  assert.ok(hasRawBytes(bytesText([0xff, 0xfe])));
  assert.not.ok(hasRawBytes('\u{1f600}\udc80'.slice(0, 2)), 'a surrogate pair is not an escaped byte');
  assert.is(textBytes(bytesText([0x2f, 0x61, 0xff, 0xfe, 0x62])).toString('hex'), '2f61fffe62');
  assert.is(wellFormed(bytesText([0x61, 0xff, 0xfe])), 'a\ufffd\ufffd');
  assert.is(rawBase64('abc'), undefined);
  assert.is(rawBase64(bytesText([0xff, 0xfe])), '//4=');
  for (const b of samples(3000)) {
    const t = bytesText(b);
    assert.is(textBytes(t).toString('hex'), Buffer.from(b).toString('hex'));
    assert.is(decodeText(Buffer.from(b)), t);
    let valid = true;
    try { new TextDecoder('utf-8', { fatal: true }).decode(b); } catch { valid = false; }
    assert.is(hasRawBytes(t), !valid, Buffer.from(b).toString('hex'));
    if (valid) assert.is(t, Buffer.from(b).toString('utf8'));
  }
});

test('the escape is Python\'s surrogateescape (a differential over the seeded sample)', () => {
  const list = [...samples(500, 11)].map((b) => Buffer.from(b).toString('hex'));
  const py = spawnSync('python3', ['-c', 'import sys,json\nfor l in sys.stdin.read().split():\n print(json.dumps(bytes.fromhex(l[1:]).decode("utf-8","surrogateescape")))'], { input: list.map((h) => 'x' + h).join('\n') + '\n', encoding: 'utf8' });
  if (py.error || py.status !== 0) { console.log('SKIP base/text surrogateescape differential: python3 is not available'); return; }
  const want = py.stdout.trim().split('\n').map((l) => JSON.parse(l) as string);
  assert.is(want.length, list.length);
  list.forEach((h, i) => assert.is(bytesText(Buffer.from(h, 'hex')), want[i], h));
});

test.run();
