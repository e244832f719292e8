// Decode once, cache per page, invalidate exactly when code bytes change (host writes, guest stores,
// other CPUs), including instructions that span two pages.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Stop, stopName } from '../../src/emu/machine.js';
import { PERM_R, PERM_W, PERM_X, PF_I } from '../../src/emu/memory.js';
import { CODE, Reg, hexBytes, setup, dis } from './util.js';
import { toRecord, type OpRecord } from '../../src/emu/decode.js';

function is(s: Stop, want: Stop): void { assert.is(stopName(s), stopName(want)); }

test('a guest store into the running block takes effect on the next instruction (self-modifying code)', () => {
  // mov byte ptr [rip+1], 2 (patches the immediate of the next instruction); mov eax, 1; hlt
  const { m, c } = setup('c6050100000002 b801000000 f4');
  m.mem.protect(CODE, 0x1000, PERM_R | PERM_W | PERM_X);
  is(m.run(c, 100), Stop.Halt);
  assert.is(c.getReg(Reg.RAX), 2n);
  assert.is(c.instret, 3);
});

test('decoded once: re-running cached code decodes nothing; writeBytes invalidates and re-decodes', () => {
  const env = setup('b801000000 b802000000 f4');
  const { m, c } = env;
  is(m.run(c, 100), Stop.Halt);
  const decoded = m.decoder.decoded;
  assert.is(decoded, 3);
  for (let i = 0; i < 5; i++) { c.rip = CODE; c.halted = false; m.run(c, 100); }
  assert.is(m.decoder.decoded, decoded);
  m.mem.writeBytes(CODE + 6, Uint8Array.of(5)); // mov eax, 2 -> mov eax, 5 (text_poke)
  c.rip = CODE; c.halted = false;
  is(m.run(c, 100), Stop.Halt);
  assert.is(c.getReg(Reg.RAX), 5n);
  assert.is(m.decoder.decoded, decoded + 3);
});

test('kprobe-style int3 patch on a cached instruction boundary, then restore', () => {
  const env = setup('b801000000 b802000000 f4');
  const { m, c } = env;
  m.run(c, 100);
  m.mem.writeBytes(CODE + 5, Uint8Array.of(0xcc));
  c.rip = CODE; c.halted = false;
  is(m.run(c, 100), Stop.Breakpoint);
  assert.is(c.rip, CODE + 6);
  assert.is(c.getReg(Reg.RAX), 1n);
  m.mem.writeBytes(CODE + 5, Uint8Array.of(0xb8));
  c.rip = CODE + 5;
  is(m.run(c, 100), Stop.Halt);
  assert.is(c.getReg(Reg.RAX), 2n);
  assert.is(dis(env, CODE + 5), 'mov $2,%eax');
});

test('an instruction spanning two pages runs, and a write to the second page invalidates it', () => {
  const at = CODE + 0x1000 - 4;
  const { m, c } = setup('90');
  m.mem.writeBytes(at, hexBytes('48b88877665544332211 f4')); // movabs rax, 0x1122334455667788; hlt
  c.rip = at;
  is(m.run(c, 100), Stop.Halt);
  assert.is(c.getReg(Reg.RAX), 0x1122334455667788n);
  m.mem.writeBytes(CODE + 0x1000 + 5, Uint8Array.of(0x99)); // the top byte of the immediate
  c.rip = at; c.halted = false;
  is(m.run(c, 100), Stop.Halt);
  assert.is(c.getReg(Reg.RAX), 0x9922334455667788n);
});

test('fetching the rest of an instruction from an unmapped page is a precise #PF with the I bit', () => {
  const { m, c } = setup('90');
  const at = CODE + 0x4000 - 3; // the mapped code area ends at CODE + 0x4000
  m.mem.writeBytes(at - 1, hexBytes('90 48b888')); // nop; the first 3 bytes of a movabs
  c.rip = at - 1;
  is(m.run(c, 100), Stop.PageFault);
  assert.is(c.rip, at);
  assert.is(c.faultAddr, CODE + 0x4000);
  assert.is(c.errorCode, PF_I);
  assert.is(c.instret, 1);
  // jumping to an unmapped address faults at the fetch, with RIP there
  c.rip = CODE + 0x8000;
  is(m.run(c, 100), Stop.PageFault);
  assert.is(c.rip, CODE + 0x8000); assert.is(c.errorCode, PF_I);
});

test('code patched by another CPU while this one loops over it is seen on its next pass', () => {
  // cpu0: add eax,1; jmp $-3      cpu1: mov byte ptr [rcx], 2; hlt   (rcx = address of the add's imm8)
  const { m } = setup('83c001 ebfb', { cpus: 2 });
  const [c0, c1] = m.cpus;
  m.mem.protect(CODE, 0x1000, PERM_R | PERM_W | PERM_X);
  m.mem.writeBytes(CODE + 0x800, hexBytes('c60102 f4'));
  c1.rip = CODE + 0x800; c1.setRegNum(Reg.RCX, CODE + 2);
  is(m.run(c0, 100), Stop.Budget);
  assert.is(c0.getReg(Reg.RAX), 50n);
  is(m.run(c1, 10), Stop.Halt);
  is(m.run(c0, 100), Stop.Budget);
  assert.is(c0.getReg(Reg.RAX), 150n);
});

test('protect(PAGE_PROBE) re-counts code already decoded on the page', () => {
  const { m, c } = setup('90 90 f4');
  m.run(c, 100);
  assert.is(c.instret, 3);
  m.mem.protect(CODE, 0x1000, PERM_R | PERM_X | 16);
  c.rip = CODE; c.halted = false;
  m.run(c, 100);
  assert.is(c.instret, 3);
  assert.is(c.probeInstret, 3);
});

test('ops of an earlier run (preload) are used only where memory holds their bytes, and equal fresh decodes', () => {
  // mov eax, 1; add rax, [rip+0x10]; jne back to the add; hlt: a register, a RIP-relative memory operand, a branch target
  const prog = 'b801000000 48030510000000 75f7 f4';
  const first = setup(prog);
  is(first.m.run(first.c, 3), Stop.Budget);
  const recs: OpRecord[] = first.m.decoder.records()!;
  assert.is(recs.length, 4);
  // the same program: every op comes from the records, identical to what iced decodes
  const again = setup(prog);
  again.m.decoder.preload(recs);
  is(again.m.run(again.c, 3), Stop.Budget);
  assert.is(again.m.decoder.decoded, 0);
  assert.is(again.m.decoder.reused, 4);
  assert.is(again.m.decoder.records(), null, 'nothing new to keep');
  const page = (env: typeof first) => env.m.mem.page(CODE)!.ops!.flat().filter((o) => o !== undefined).map((o) => JSON.stringify(toRecord(o!)));
  assert.equal(page(again), page(first));
  assert.equal(again.c.regs, first.c.regs);
  // other bytes at a recorded address (mov eax, 2): decoded again, and the new op is kept
  const other = setup('b802000000 48030510000000 75f7 f4');
  other.m.decoder.preload(recs);
  is(other.m.run(other.c, 3), Stop.Budget);
  assert.is(other.m.decoder.decoded, 1);
  assert.is(other.m.decoder.reused, 3);
  assert.is(other.c.regs[0], 2);
  assert.equal(other.m.decoder.records()!.find((r) => r[0] === CODE)![21], [0xb8, 2, 0, 0, 0]);
});

test('bytes that do not decode are kept too: a run from the records decodes nothing, with the same faults', () => {
  // the first 3 bytes of a movabs at the end of the mapped code (the next page is not mapped): #PF at the fetch;
  // then bytes that decode to no instruction in 64-bit mode (push es): #UD
  const prog = (env: ReturnType<typeof setup>) => {
    const at = CODE + 0x4000 - 3;
    env.m.mem.writeBytes(at - 1, hexBytes('90 48b888'));
    env.m.mem.writeBytes(CODE + 0x100, hexBytes('06'));
    env.c.rip = at - 1;
    const s1 = env.m.run(env.c, 100);
    const f1 = [env.c.rip, env.c.faultAddr, env.c.errorCode];
    env.c.rip = CODE + 0x100;
    const s2 = env.m.run(env.c, 100);
    return [stopName(s1), ...f1, stopName(s2), env.c.rip, env.c.instret];
  };
  const first = setup('90');
  const want = prog(first);
  assert.equal(want.slice(0, 4), [stopName(Stop.PageFault), CODE + 0x4000 - 3, CODE + 0x4000, PF_I]);
  assert.is(want[4], stopName(Stop.InvalidOpcode));
  const recs = first.m.decoder.records()!;
  // push es: invalid (2), the next page fetchable (4); the movabs cut short by an unfetchable page (1)
  assert.equal(recs.filter((r) => r[25] !== undefined).map((r) => r[25]).sort(), [1, 6]);
  const again = setup('90');
  again.m.decoder.preload(recs);
  assert.equal(prog(again), want);
  assert.is(again.m.decoder.decoded, 0);
  // the next page mapped now: the movabs's bytes there decide, the fault record is not used
  const mapped = setup('90');
  mapped.m.decoder.preload(recs);
  mapped.m.mem.map(CODE + 0x4000, 0x1000, PERM_R | PERM_X);
  mapped.m.mem.writeBytes(CODE + 0x4000 - 4, hexBytes('90 48b888'));
  mapped.m.mem.writeBytes(CODE + 0x4000, hexBytes('77665544332211 f4'));
  mapped.c.rip = CODE + 0x4000 - 4;
  is(mapped.m.run(mapped.c, 100), Stop.Halt);
  assert.is(mapped.c.getReg(Reg.RAX), 0x1122334455667788n);
  assert.is(mapped.m.decoder.decoded, 2, 'the movabs and the hlt');
});

test.run();
