import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { colorEnabled, colorTrace, isTTY, plain, setColorMode, styler } from '../../src/output/tty.js';
import { renderLog2Hist, renderProbeTable } from '../../src/output/trace-report.js';

test('colour only on a TTY, NO_COLOR wins, FORCE_COLOR forces', () => {
  assert.ok(colorEnabled({ isTTY: true }, {}));
  assert.not.ok(colorEnabled({ isTTY: false }, {}));
  assert.not.ok(colorEnabled({ isTTY: true }, { NO_COLOR: '1' }));
  assert.not.ok(colorEnabled({ isTTY: true }, { TERM: 'dumb' }));
  assert.ok(colorEnabled({ isTTY: false }, { FORCE_COLOR: '1' }));
  assert.not.ok(colorEnabled({ isTTY: true }, { FORCE_COLOR: '0' }));
  assert.not.ok(colorEnabled({ isTTY: true }, { NO_COLOR: '1', FORCE_COLOR: '1' }));
  assert.not.ok(isTTY({}));
});

test('styler', () => {
  assert.is(styler(false)('bold', 'x'), 'x');
  assert.is(styler(true)('bold', 'x'), '\x1b[1mx\x1b[22m');
});

test('--color modes: always and never override the terminal check; colorTrace colours event names only', () => {
  try {
    setColorMode('always');
    assert.ok(colorEnabled({ isTTY: false }, { NO_COLOR: '1' }));
    setColorMode('never');
    assert.not.ok(colorEnabled({ isTTY: true }, {}));
  } finally { setColorMode('auto'); }
  const line = '            init-1       [000] ...1.     0.000270: vfs_read: (vfs_read+0x0/0x80) count=256\n';
  const c = colorTrace(line + line, styler(true));
  assert.is(c, (line.replace('vfs_read:', '\x1b[36mvfs_read\x1b[39m:')).repeat(2));
  assert.is(colorTrace(line, plain), line);
});

test('tables and histograms: colour adds only escape codes (the same text without them)', () => {
  const counts = new Map([[3, 5], [5, 1]]);
  const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');
  assert.is(strip(renderLog2Hist('@x:', counts, styler(true))), renderLog2Hist('@x:', counts));
  assert.match(renderLog2Hist('@x:', counts, styler(true)), /\x1b\[32m@+\x1b\[39m/);
  const rows = [{ event: 'probe:a', hits: 3, misses: 1 }];
  assert.is(strip(renderProbeTable(rows, styler(true))), renderProbeTable(rows));
});

test.run();
