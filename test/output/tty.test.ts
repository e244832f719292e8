import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { colorEnabled, isTTY, styler } from '../../src/output/tty.js';

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

test.run();
