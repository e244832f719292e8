// Instruction facts keyed by iced's Code: each operand's direction (read, written), against the SDM's
// description of each form, and the stores to memory the block compiler derives from them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Decoder, DecoderOptions, Instruction } from '../../src/emu/iced.js';
import { codeFacts, opRead, opWritten, writesMemOperand } from '../../src/emu/facts.js';
import { mayWrite } from '../../src/emu/compile.js';
import { CODE, setup } from './util.js';

/** 'R', 'W', 'RW' or '' for each operand of the first instruction of `hex`, and whether it stores to memory */
function dirs(hex: string): string {
  const d = new Decoder(64, Buffer.from(hex, 'hex'), DecoderOptions.None);
  const i = new Instruction();
  try {
    d.decodeOut(i);
    const f = codeFacts(i), kinds: number[] = [];
    const out: string[] = [];
    for (let k = 0; k < i.opCount; k++) { kinds.push(i.opKind(k)); out.push((opRead(f, k) ? 'R' : '') + (opWritten(f, k) ? 'W' : '')); }
    return out.join(',') + (writesMemOperand(kinds, f) ? ' store' : '');
  } finally { d.free(); i.free(); }
}

test('operand direction per form, the same for register and memory forms of one Code', () => {
  const cases: [string, string, string][] = [
    ['mov [rbx],eax', '8903', 'W,R store'], ['mov eax,[rbx]', '8b03', 'W,R'], ['add [rbx],eax', '0103', 'RW,R store'],
    ['add eax,ebx', '01d8', 'RW,R'], ['cmp [rbx],eax', '3903', 'R,R'], ['test [rbx],eax', '8503', 'R,R'],
    ['xor al,[rsi-1]', '3246ff', 'RW,R'], ['lea rax,[rbx+8]', '488d4308', 'W,'], ['stosb', 'aa', 'W,R store'],
    ['movsb', 'a4', 'W,R store'], ['cmpsb', 'a6', 'R,R'], ['cmove eax,[rbx]', '0f4403', 'RW,R'],
    ['xchg [rbx],eax', '8703', 'RW,RW store'], ['lock cmpxchg [rbx],ecx', 'f00fb10b', 'RW,R store'],
    ['setz byte [rbx]', '0f9403', 'W store'], ['pop qword [rbx]', '8f03', 'W store'], ['push rax', '50', 'R'],
  ];
  for (const [name, hex, want] of cases) assert.is(dirs(hex), want, name);
  // the second look is answered from the table, identically
  for (const [name, hex, want] of cases) assert.is(dirs(hex), want, name + ' (cached)');
});

test('mayWrite follows operand direction: a read of memory needs no self-modifying-code check', () => {
  // mov eax,[rbx]; cmp [rbx],eax; mov [rbx],eax; add [rbx],eax; push rax; hlt
  const { m, c } = setup('8b03 3903 8903 0103 50 f4');
  const ops = m.blockAt(c, CODE).ops;
  assert.equal(ops.slice(0, 5).map(mayWrite), [false, false, true, true, true]);
});

test.run();
