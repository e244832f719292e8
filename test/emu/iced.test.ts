// src/emu/iced.ts: iced-x86 loads on first use, not on import, and decodeAt decodes one instruction at
// 16, 32 or 64 bits into one shared scratch Instruction.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Code, decodeAt, icedLoaded, Mnemonic } from '../../src/emu/iced.js';

test('importing the door loads no iced-x86; the first decode does', () => {
  assert.not.ok(icedLoaded(), 'loaded by the import alone');
  decodeAt(Uint8Array.of(0x90), 0);
  assert.ok(icedLoaded());
});

test('the same bytes at 16, 32 and 64 bits: operand size from the mode', () => {
  const bytes = Uint8Array.of(0xb8, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
  assert.equal([decodeAt(bytes, 0, 16).length, decodeAt(bytes, 0, 32).length, decodeAt(bytes, 0).length], [3, 5, 5]);
  assert.is(decodeAt(Uint8Array.of(0x48, 0xb8, 1, 0, 0, 0, 0, 0, 0, 0), 0).length, 10, 'REX.W mov imm64 exists only at 64 bits');
  assert.is(decodeAt(Uint8Array.of(0x48), 0, 32).mnemonic, Mnemonic.Dec, '0x48 is dec eax at 32 bits');
});

test('the ip places the instruction: branch targets, a canonical kernel address', () => {
  const call = Uint8Array.of(0xe8, 0x10, 0x00, 0x00, 0x00);
  const kernel = -0x7f000000; // 0xffffffff81000000 in the signed canonical form of src/base/addr.ts
  assert.is(Number(BigInt.asIntN(64, decodeAt(call, kernel).nearBranch64)), kernel + 5 + 0x10);
  assert.is(Number(decodeAt(Uint8Array.of(0xeb, 0xfe), 0x7c00, 16).nearBranch16), 0x7c00);
});

test('one shared scratch Instruction; undecodable bytes are Code.INVALID', () => {
  const a = decodeAt(Uint8Array.of(0x90), 0);
  const b = decodeAt(Uint8Array.of(0x0f, 0x0b), 0);
  assert.ok(a === b, 'the same object, overwritten');
  assert.is(b.mnemonic, Mnemonic.Ud2);
  assert.is(decodeAt(Uint8Array.of(0x0f), 0).code, Code.INVALID);
});

test.run();
