// The x86 layer on hand-made instruction bytes: can_probe's boundary walk, which instructions are
// copied (RIP-relative operands relocated), emulated, boosted or refused, and the emulation itself
// against the emulator executing the same instruction natively.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Machine, Stop } from '../../src/emu/machine.js';
import { PERM_R, PERM_W, PERM_X } from '../../src/emu/memory.js';
import { Reg } from '../../src/emu/cpu.js';
import { archPrepareKprobe, canProbe, EmulateKind, type ArchInsn } from '../../src/kprobe/x86.js';
import { decodeAt } from '../../src/emu/iced.js';
import { InsnSlots, MODULES_VADDR } from '../../src/kprobe/slots.js';
import { emulate } from '../../src/kprobe/x86.js';

const TEXT = -0x7f000000; // 0xffffffff81000000

function prep(hex: string, opts: { fixup?: boolean; addr?: number } = {}) {
  const m = new Machine({ cpus: 1 });
  const slots = new InsnSlots(m.mem);
  const bytes = new Uint8Array(16);
  bytes.set(Buffer.from(hex.replace(/ /g, ''), 'hex'));
  const r = archPrepareKprobe({
    bytes, addr: opts.addr ?? TEXT + 0x100, hasExceptionFixup: !!opts.fixup,
    allocSlot: () => slots.alloc(), write: (a, b) => m.mem.writeBytes(a, b),
  });
  return { r, m };
}
function ok(hex: string, opts: { fixup?: boolean } = {}): { a: ArchInsn; m: Machine } {
  const { r, m } = prep(hex, opts);
  if (!r.ok) throw new Error(`${hex}: ${r.reason}`);
  return { a: r.insn, m };
}

test('can_probe: instruction boundaries from the function start', () => {
  const code = Buffer.from('55' + '4889e5' + '8b0578563412' + '5d' + 'c3', 'hex'); // push rbp; mov rbp,rsp; mov eax,[rip+..]; pop; ret
  const read = (a: number, n: number) => { const o = new Uint8Array(n); o.set(code.subarray(a - TEXT, a - TEXT + n)); return o; };
  const good = [0, 1, 4, 10, 11], all = [...Array(12).keys()];
  for (const off of all) assert.is(canProbe(TEXT, TEXT + off, read), good.includes(off), `offset ${off}`);
});

test('a plain instruction is copied, boostable, and ends with a jmp back', () => {
  const { a, m } = ok('4889f8'); // mov rax, rdi
  assert.is(a.emulate, EmulateKind.None);
  assert.ok(a.boostable);
  assert.ok(a.slot >= MODULES_VADDR && a.slot - TEXT < 2 ** 31, 'slot within ±2 GB of the text');
  const slot = m.mem.readBytes(a.slot, a.copyLen + 5);
  assert.equal([...slot.subarray(0, 3)], [0x48, 0x89, 0xf8]);
  assert.is(slot[3], 0xe9);
  const back = decodeAt(slot.subarray(3), a.slot + 3);
  assert.is(Number(BigInt.asIntN(64, back.nearBranch64)), TEXT + 0x100 + 3, 'jmp back to the next instruction');
});

test('RIP-relative operands are fixed up for the slot (BlockEncoder)', () => {
  const { a, m } = ok('8b05 00100000'); // mov eax, [rip+0x1000]
  // decodeAt's Instruction is shared scratch: take the original's address before decoding the copy
  const want = decodeAt(Buffer.from('8b0500100000', 'hex'), TEXT + 0x100).ipRelMemoryAddress;
  const copy = decodeAt(m.mem.readBytes(a.slot, 16), a.slot);
  assert.ok(copy.isIpRelMemoryOperand);
  assert.is(copy.ipRelMemoryAddress, want, 'the copy reads the same absolute address');
  assert.is(a.len, 6);
});

test('boosting is refused with an exception fixup, for leave/pushf/prefix 0x2e/0x67 and privileged instructions', () => {
  assert.not.ok(ok('8b07', { fixup: true }).a.boostable, 'may fault with a fixup');
  assert.ok(ok('8b07').a.boostable);
  assert.not.ok(ok('c9').a.boostable, 'leave');
  assert.not.ok(ok('678b07').a.boostable, 'address-size prefix');
  assert.not.ok(ok('2e8b07').a.boostable, 'cs prefix');
  assert.not.ok(ok('0f20d8').a.boostable, 'mov rax, cr3 (privileged)');
  assert.not.ok(ok('0f31').a.boostable, 'rdtsc reads the emulated clock: stepped, so the count it sees is exact');
  assert.not.ok(ok('e640').a.boostable, 'out to a port (the timer reads the clock)');
  const ud2 = ok('0f0b').a;
  assert.is(ud2.emulate, EmulateKind.None, 'ud2 is stepped: its #UD is reported at the probed address');
  assert.not.ok(ud2.boostable);
});

test('branches, returns and IF modifiers are emulated; the rest of the kernel list is refused', () => {
  const at = TEXT + 0x100;
  const call = ok('e8 00100000').a;
  assert.is(call.emulate, EmulateKind.Call); assert.is(call.target, at + 5 + 0x1000);
  assert.is(ok('eb fe').a.emulate, EmulateKind.Jmp);
  const jcc = ok('0f85 10000000').a;
  assert.is(jcc.emulate, EmulateKind.Jcc); assert.is(jcc.cond, 5); assert.is(jcc.target, at + 6 + 0x10);
  assert.is(ok('74 02').a.cond, 4);
  assert.is(ok('e2 fe').a.emulate, EmulateKind.Loop);
  assert.is(ok('c3').a.emulate, EmulateKind.Ret);
  assert.is(ok('c2 1000').a.imm, 16);
  const ci = ok('ffd0').a; assert.is(ci.emulate, EmulateKind.CallIndirect); assert.is(ci.reg, Reg.RAX);
  assert.is(ok('41ffe3').a.reg, Reg.R11, 'jmp r11');
  for (const [h, k] of [['fa', EmulateKind.Cli], ['fb', EmulateKind.Sti], ['9c', EmulateKind.Pushf], ['9d', EmulateKind.Popf]] as const) {
    assert.is(ok(h).a.emulate, k, h);
  }
  const refused: [string, number, string][] = [
    ['cc', -95, 'int3'], ['48cf', -95, 'iretq'], ['cb', -95, 'lret'], ['0f01c1', -95, 'vmcall'], ['f4', -95, 'hlt'],
    ['ff10', -95, 'call [rax]'], ['ff24c5 00000000', -95, 'jmp [rax*8+0]'], ['cd80', -95, 'int 0x80'], ['8ed0', -22, 'mov ss, eax'],
    ['0f05', -95, 'syscall'], ['ffff', -84, 'invalid'],
  ];
  for (const [h, errno, what] of refused) {
    const { r } = prep(h);
    assert.not.ok(r.ok, what);
    if (!r.ok) assert.is(-r.errno, errno, what);
  }
});

test('emulation matches native execution (call, ret imm, jmp reg, loop, pushf/popf, sti shadow)', () => {
  const cases = ['e8 10000000', 'c2 0800', 'ffe0', 'ffd1', 'e2 f0', 'e3 05', '9c', '9d', 'fb', 'fa', '75 05', '0f8e 00010000'];
  for (const h of cases) {
    const bytes = Buffer.from(h.replace(/ /g, ''), 'hex');
    const mk = () => {
      const m = new Machine({ cpus: 1 });
      m.mem.map(TEXT, 8192, PERM_R | PERM_X);
      m.mem.map(0x10000, 8192, PERM_R | PERM_W);
      m.mem.writeBytes(TEXT + 0x100, bytes);
      m.mem.write64(0x10800, BigInt.asUintN(64, BigInt(TEXT + 0x444)));
      m.mem.write64(0x10808, 0x246n);
      const c = m.cpus[0];
      c.setRegNum(Reg.RSP, 0x10800); c.setRegNum(Reg.RAX, TEXT + 0x300); c.setRegNum(Reg.RCX, 2);
      c.setRflags(0x2 | 0x40 | 0x1); c.rip = TEXT + 0x100;
      return { m, c };
    };
    const n = mk(); n.m.run(n.c, 1);
    const e = mk();
    const a = ok(h).a;
    assert.ok(a.emulate !== EmulateKind.None, h);
    assert.ok(emulate(a, e.c, TEXT + 0x100), `${h}: no fault`);
    assert.is(e.c.rip, n.c.rip, `${h}: rip`);
    assert.equal([...e.c.regs], [...n.c.regs], `${h}: registers`);
    assert.is(e.c.getRflags(), n.c.getRflags(), `${h}: flags`);
    assert.is(e.c.shadow, n.c.shadow, `${h}: interrupt shadow`);
    assert.equal([...e.m.mem.readBytes(0x107f0, 32)], [...n.m.mem.readBytes(0x107f0, 32)], `${h}: stack`);
  }
});

test.run();
