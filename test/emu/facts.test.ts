// Instruction facts keyed by iced's Code: each operand's direction (read, written), against the SDM's
// description of each form, and the stores to memory the block compiler derives from them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Decoder, DecoderOptions, FlowControl, Instruction } from '../../src/emu/iced.js';
import { codeFacts, flowOf, F_PRIVILEGED, opRead, opWritten, writesMemOperand } from '../../src/emu/facts.js';
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

test('flow control and privilege per form, as the SDM classifies them', () => {
  const F = FlowControl;
  const cases: [string, string, number, boolean][] = [
    ['mov eax,[rbx]', '8b03', F.Next, false], ['jne', '7500', F.ConditionalBranch, false], ['jmp', 'eb00', F.UnconditionalBranch, false],
    ['jmp rax', 'ffe0', F.IndirectBranch, false], ['call', 'e800000000', F.Call, false], ['call rax', 'ffd0', F.IndirectCall, false],
    ['ret', 'c3', F.Return, false], ['iretq', '48cf', F.Return, false], ['int3', 'cc', F.Interrupt, false], ['int 0x80', 'cd80', F.Interrupt, false],
    ['ud2', '0f0b', F.Exception, false], ['syscall', '0f05', F.Call, false], ['sysretq', '480f07', F.Return, true],
    ['cli', 'fa', F.Next, true], ['sti', 'fb', F.Next, true], ['hlt', 'f4', F.Next, true], ['in al,dx', 'ec', F.Next, true],
    ['out dx,al', 'ee', F.Next, true], ['outsb', '6e', F.Next, true], ['mov cr3,rax', '0f22d8', F.Next, true],
    ['rdtsc', '0f31', F.Next, false], ['pushfq', '9c', F.Next, false],
  ];
  for (const [name, hex, flow, priv] of cases) {
    const d = new Decoder(64, Buffer.from(hex, 'hex'), DecoderOptions.None);
    const i = new Instruction();
    try {
      d.decodeOut(i);
      const f = codeFacts(i);
      assert.is(flowOf(f), flow, name + ' flow');
      assert.is((f & F_PRIVILEGED) !== 0, priv, name + ' privileged');
    } finally { d.free(); i.free(); }
  }
});

test.run();
