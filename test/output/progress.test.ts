import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startProgress, MIN_COLUMNS } from '../../src/output/progress.js';

function stream(columns: number | undefined, isTTY = true) {
  const writes: string[] = [];
  return { writes, s: { isTTY, columns, write: (t: string) => { writes.push(t); return true; } } };
}

test('no display off a terminal, or on one 0 columns wide (or unknown, or too narrow)', () => {
  for (const cols of [0, undefined, NaN, -1, MIN_COLUMNS - 1]) {
    const { writes, s } = stream(cols);
    let t = 0;
    const p = startProgress(s, 'booting', { now: () => (t += 1000) });
    for (let i = 0; i < 1000; i++) p.update('x'.repeat(i));
    p.stop();
    assert.equal(writes, [], `columns ${cols}`);
  }
  const { writes, s } = stream(80, false);
  startProgress(s, 'booting').update('x');
  assert.equal(writes, []);
});

test('one line cut to the width, throttled, cleared at the end; a shrink to 0 clears it', () => {
  const { writes, s } = stream(30);
  let t = 0;
  const p = startProgress(s, 'booting\nnow', { intervalMs: 80, now: () => t });
  assert.is(writes.length, 1);
  assert.ok(!writes[0]!.includes('\n'));
  t = 10; p.update('ignored: too soon');
  assert.is(writes.length, 1);
  t = 100; p.update('y'.repeat(500));
  assert.is(writes.length, 2);
  // "\r" + at most columns-1 characters + "erase to end of line"
  assert.ok(writes[1]!.length <= 1 + 29 + 3, writes[1]);
  s.columns = 0;
  t = 200; p.update('z');
  assert.is(writes[2], '\r\x1b[K');
  p.stop();
  assert.is(writes.length, 3);
});

test.run();
