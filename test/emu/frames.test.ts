import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InterruptFrames } from '../../src/emu/frames.js';

test('push, the matching drop, a slot pushed again replaces its dead frame, save/load round-trip', () => {
  const f = new InterruptFrames();
  f.push(0x1000, -0x7f000000, 0);
  f.push(0x0f00, -0x7effff00, 0);
  f.push(0x2000, -0x7efffe00, 1);
  f.drop(0x0f00);
  assert.equal([f.slots, f.rips, f.cpus], [[0x1000, 0x2000], [-0x7f000000, -0x7efffe00], [0, 1]]);
  f.drop(0x3000); // an iret of a frame the guest built itself: nothing recorded
  assert.is(f.size, 2);
  f.push(0x1000, -0x7effff80, 1); // the stack under a dead frame was reused
  assert.equal([f.slots, f.cpus], [[0x2000, 0x1000], [1, 1]]);
  const g = new InterruptFrames();
  g.load(f.save());
  assert.equal([g.slots, g.rips, g.cpus], [f.slots, f.rips, f.cpus]);
  g.load([]);
  assert.is(g.size, 0);
});

test.run();
