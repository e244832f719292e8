import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isMemOp } from '../../../src/trace/kprobe-events/fetch.js';

test('memory ops are the ones whose value is a load', () => {
  assert.ok(isMemOp({ kind: 'mem', addr: 1n }));
  assert.ok(isMemOp({ kind: 'sym', text: 'jiffies' }));
  assert.ok(isMemOp({ kind: 'deref', offset: 0n, user: false, base: { kind: 'stackp' } }));
  assert.not.ok(isMemOp({ kind: 'imm', value: 1n }));
  assert.not.ok(isMemOp({ kind: 'reg', reg: 'di' }));
  assert.not.ok(isMemOp({ kind: 'comm' }));
});

test.run();
