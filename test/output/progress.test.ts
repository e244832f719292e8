import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startProgress as start, MIN_COLUMNS, type Progress } from '../../src/output/progress.js';

// Every display a test starts is stopped after it, passed or failed (ora's interval would keep the process alive).
const started: Progress[] = [];
const startProgress: typeof start = async (...a) => { const p = await start(...a); started.push(p); return p; };
test.after.each(() => { for (const p of started.splice(0)) p.stop(); });

function stream(columns: number | undefined, isTTY = true) {
  const writes: string[] = [];
  return { writes, s: { isTTY, columns, write: (t: string) => { writes.push(t); return true; } } };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// What a terminal would show of the writes: escape sequences removed.
const visible = (w: string[]) => w.join('').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
// The frames drawn: ora moves to column 1 before each.
const frames = (w: string[]) => w.join('').split('\x1b[1G').map((f) => visible([f])).filter((f) => f !== '');

test('no display off a terminal, or on one 0 columns wide (or unknown, or too narrow)', async () => {
  for (const cols of [0, undefined, NaN, -1, MIN_COLUMNS - 1]) {
    const { writes, s } = stream(cols);
    const p = await startProgress(s, 'booting', { intervalMs: 5 });
    for (let i = 0; i < 1000; i++) p.update('x'.repeat(i));
    await sleep(30);
    p.stop();
    assert.equal(writes, [], `columns ${cols}`);
  }
  const { writes, s } = stream(80, false);
  (await startProgress(s, 'booting')).update('x');
  assert.equal(writes, []);
});

test("ora's spinner: one line cut to the width, redrawn on its interval, cleared at the end", async () => {
  const { writes, s } = stream(30);
  const p = await startProgress(s, 'booting\nnow', { intervalMs: 5 });
  assert.ok(writes.length > 0, 'drawn at once');
  assert.not.match(visible(writes), /\n/, 'one line: the newline in the text is not written');
  assert.match(visible(writes), /booting now/);
  p.update('y'.repeat(500));
  await sleep(40);
  const drawn = frames(writes).filter((l) => l.includes('y'));
  assert.ok(drawn.length > 0, 'the new text is drawn on the next frame');
  for (const f of drawn) assert.ok([...f].length < 30, `a frame fits 30 columns: ${f.length}`);
  const before = writes.length;
  p.stop();
  assert.ok(writes.length > before, 'stop clears the line');
  const after = writes.length;
  await sleep(30);
  assert.is(writes.length, after, 'nothing is drawn after stop');
});

test('a terminal that shrinks to 0 columns mid-run gets no more writes, and the run is never held', async () => {
  const { writes, s } = stream(40);
  const p = await startProgress(s, 'booting', { intervalMs: 5 });
  await sleep(20);
  s.columns = 0;
  const n = writes.length;
  for (let i = 0; i < 100; i++) p.update(`step ${i}`);
  await sleep(40);
  assert.is(writes.length, n, 'nothing written at 0 columns');
  p.stop();
  assert.is(writes.length, n);
});

test.run();
