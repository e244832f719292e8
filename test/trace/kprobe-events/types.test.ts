import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findFetchType, FETCH_TYPES, DEFAULT_TYPE } from '../../../src/trace/kprobe-events/types.js';

test('the fetch type table', () => {
  assert.is(DEFAULT_TYPE.name, 'x64');
  assert.is(findFetchType(undefined), DEFAULT_TYPE);
  const rows = Object.values(FETCH_TYPES).map((t) => `${t.name}:${t.size}:${t.signed ? 1 : 0}:${t.fmttype}:${t.fmt}`);
  assert.equal(rows, [
    'string:4:1:__data_loc char[]:\\"%s\\"', 'ustring:4:1:__data_loc char[]:\\"%s\\"', 'symstr:4:1:__data_loc char[]:\\"%s\\"',
    'u8:1:0:u8:%u', 'u16:2:0:u16:%u', 'u32:4:0:u32:%u', 'u64:8:0:u64:%Lu',
    's8:1:1:s8:%d', 's16:2:1:s16:%d', 's32:4:1:s32:%d', 's64:8:1:s64:%Ld',
    'x8:1:0:u8:0x%x', 'x16:2:0:u16:0x%x', 'x32:4:0:u32:0x%x', 'x64:8:0:u64:0x%Lx',
    "char:1:0:u8:'%c'", 'symbol:8:0:u64:%pS',
  ]);
});

test('bitfield container sizes pick u8..u64', () => {
  assert.is(findFetchType('b1@0/8')?.name, 'u8');
  assert.is(findFetchType('b1@0/16')?.name, 'u16');
  assert.is(findFetchType('b1@0/0x20')?.name, 'u32');
  assert.is(findFetchType('b1@0/64')?.name, 'u64');
  assert.is(findFetchType('b1@0/12'), undefined);
  assert.is(findFetchType('b1@0'), undefined);
  assert.is(findFetchType('bogus'), undefined);
  assert.is(findFetchType('toString'), undefined);
  assert.is(findFetchType(''), undefined);
});

test.run();
