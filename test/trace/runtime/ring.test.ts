import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TraceRing, cpuOfLine, BUFFER_SIZE_KB } from '../../../src/trace/runtime/ring.js';

const line = (cpu: number, i: number) => `          <...>-12      [00${cpu}] d.Z..     0.${String(i).padStart(6, '0')}: e: (f+0x0/0x10)\n`;

test('cpuOfLine reads the [CPU] field of a trace line', () => {
  assert.is(cpuOfLine(line(3, 1)), 3);
  assert.is(cpuOfLine('    a-b [c]-1   [012] d.Z.. 1.0: e:\n'), 12);
  assert.is(cpuOfLine('no cpu here\n'), 0);
});

test('each CPU keeps its newest entries within its size; counts of entries and writes', () => {
  const len = line(0, 0).length;
  const r = new TraceRing(len * 10);
  for (let i = 0; i < 25; i++) r.push(line(0, i));
  for (let i = 0; i < 4; i++) r.push(line(1, 100 + i));
  assert.is(r.written, 29);
  assert.is(r.entries, 14);
  assert.is(r.overwritten, 15);
  const kept = r.lines();
  assert.equal(kept.slice(0, 10), Array.from({ length: 10 }, (_, i) => line(0, 15 + i)));
  assert.equal(kept.slice(10), Array.from({ length: 4 }, (_, i) => line(1, 100 + i)));
  // A ring rebuilt from its text is the same buffer.
  const again = TraceRing.of(r.text(), len * 10);
  assert.is(again.text(), r.text());
  assert.is(again.entries, 14);
});

test('memory stays bounded: a million entries through the default size', () => {
  const r = new TraceRing();
  const n = process.env.KTRACE_LONG === '1' ? 1_000_000 : 200_000;
  for (let i = 0; i < n; i++) r.push(line(i & 1, i % 1_000_000));
  const per = Math.floor((BUFFER_SIZE_KB * 1024) / line(0, 0).length);
  assert.is(r.entries, 2 * per);
  assert.is(r.written, n);
  assert.ok(r.text().length <= 2 * BUFFER_SIZE_KB * 1024);
  // Order across CPUs is the order of pushing.
  const kept = r.lines();
  assert.is(kept[0], line(n & 1, (n - 2 * per) % 1_000_000));
});

test.run();
