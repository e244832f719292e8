import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Machine, Stop, stopName } from '../../src/emu/machine.js';
import { Cpu } from '../../src/emu/cpu.js';
import { PAGE_PROBE, PERM_R, PERM_W, PERM_X, PF_W } from '../../src/emu/memory.js';
import { CODE, DATA, STACK_TOP, Reg, hexBytes, setup, dis, wasmForced, type Env } from './util.js';

const IDT = DATA + 0x8000;
const HANDLER = CODE + 0x1000;

/** Install a 64-bit interrupt gate (SDM Vol. 3A, Figure 6-8) for `vector` at `target`. */
function gate(m: Machine, vector: number, target: number, type = 0xe): void {
  const b = new Uint8Array(16), dv = new DataView(b.buffer);
  const lo = target >>> 0, hi = Math.floor(target / 2 ** 32) >>> 0;
  dv.setUint16(0, lo & 0xffff, true); dv.setUint16(2, 0x10, true); b[5] = 0x80 | type;
  dv.setUint16(6, lo >>> 16, true); dv.setUint32(8, hi, true);
  m.mem.writeBytes(IDT + vector * 16, b);
  for (const c of m.cpus) { c.idtBase = IDT; c.idtLimit = 0xfff; }
}
function is(s: Stop, want: Stop): void { assert.is(stopName(s), stopName(want)); }

test('#PF is precise: earlier instructions committed, the faulting store has no effect, RIP at it', () => {
  // mov rax,1; mov rbx,2; mov [rcx],rax; mov rbx,3; hlt
  const env = setup('48c7c001000000 48c7c302000000 488901 48c7c303000000 f4');
  const { m, c } = env;
  const target = DATA + 0x20000; // unmapped
  c.setRegNum(Reg.RCX, target);
  is(m.run(c, 1000), Stop.PageFault);
  assert.is(c.rip, CODE + 14);
  assert.is(dis(env, c.rip), 'mov %rax,(%rcx)');
  assert.is(c.getReg(Reg.RAX), 1n); assert.is(c.getReg(Reg.RBX), 2n);
  assert.is(c.errorCode, PF_W); assert.is(c.faultAddr, target); assert.is(c.cr2, target);
  assert.is(c.trapVector, 14);
  assert.is(c.instret, 2);
  // the platform maps the page and resumes: the store happens once, the rest runs
  m.mem.map(target, 0x1000, PERM_R | PERM_W);
  is(m.run(c, 1000), Stop.Halt);
  assert.is(m.mem.read64(target), 1n);
  assert.is(c.getReg(Reg.RBX), 3n);
  assert.is(c.rip, CODE + 25);
  assert.is(c.instret, 5);
});

test('effective addresses wrap modulo 2^64 (huge index times scale); RMW faults carry the W bit', () => {
  // sar qword ptr [rbx+rax*8+2], cl   with rax = 0x7fff...ff: the address is rbx - 8 + 2
  let { m, c } = setup('48d37cc302 f4');
  c.setReg(Reg.RAX, 0x7fffffffffffffffn); c.setRegNum(Reg.RBX, DATA + 0x106); c.setReg(Reg.RCX, 4n);
  m.mem.write64(DATA + 0x100, 0x100n);
  is(m.run(c, 10), Stop.Halt);
  assert.is(m.mem.read64(DATA + 0x100), 0x10n);
  // add [rcx], eax on a read-only page: the read half would succeed, the fault is a write fault
  ({ m, c } = setup('0101 f4'));
  m.mem.map(DATA + 0x20000, 0x1000, PERM_R);
  c.setRegNum(Reg.RCX, DATA + 0x20000);
  is(m.run(c, 10), Stop.PageFault);
  assert.is(c.errorCode, 1 | PF_W);
});

test('int3 stops with #BP and RIP past the int3; ud2 and unimplemented forms are #UD with the bytes', () => {
  let { m, c } = setup('cc 90 f4');
  is(m.run(c, 100), Stop.Breakpoint);
  assert.is(c.rip, CODE + 1); assert.is(c.trapVector, 3); assert.is(c.instret, 1);
  ({ m, c } = setup('0f0b'));
  is(m.run(c, 100), Stop.InvalidOpcode);
  assert.is(c.rip, CODE); assert.is(c.instret, 0);
  ({ m, c } = setup('90 0f28c1')); // nop; movaps xmm0,xmm1 (SSE: not part of ktrace-pc)
  is(m.run(c, 100), Stop.InvalidOpcode);
  assert.is(c.rip, CODE + 1); assert.is(c.instret, 1);
  assert.match(c.stopText, '0f 28 c1');
  assert.match(c.stopText, 'movaps');
});

test('TF single-step: a Debug stop after each instruction, RIP at the next one', () => {
  const { m, c } = setup('4883c001 4883c001 4883c001 f4');
  c.setRflags(0x102);
  is(m.run(c, 100), Stop.Debug);
  assert.is(c.rip, CODE + 4); assert.is(c.getReg(Reg.RAX), 1n); assert.is(c.trapVector, 1);
  is(m.run(c, 100), Stop.Debug);
  assert.is(c.rip, CODE + 8); assert.is(c.getReg(Reg.RAX), 2n);
  c.setRflags(0x2);
  is(m.run(c, 100), Stop.Halt);
  assert.is(c.getReg(Reg.RAX), 3n);
});

test('#DE on divide by zero and #GP on a non-canonical jump are precise', () => {
  let { m, c } = setup('31d2 48f7f1');
  c.setReg(Reg.RAX, 5n);
  is(m.run(c, 100), Stop.DivideError);
  assert.is(c.rip, CODE + 2); assert.is(c.instret, 1);
  ({ m, c } = setup('ffe0'));
  c.setReg(Reg.RAX, 0x800000000000n);
  is(m.run(c, 100), Stop.GeneralProtection);
  assert.is(c.rip, CODE);
});

test('budget is exact in instructions', () => {
  const { m, c } = setup('48ffc0 ebfb'); // inc rax; jmp $-3
  is(m.run(c, 1001), Stop.Budget);
  assert.is(c.instret, 1001);
  assert.is(c.getReg(Reg.RAX), 501n);
  is(m.run(c, 10), Stop.Budget);
  assert.is(c.instret, 1011);
});

// A loop entered mid-body (Linux's expand() in mm/page_alloc.c, resumed at a store after the platform
// mapped a page): the superblock from the entry follows the back jump to the loop head, and the straight
// run from there reaches the entry again. The block may not hold that address twice: a fault retires
// the instructions before it by finding its address in the block, and found the first copy (Linux
// fork-storm compiled only ended 21 instructions, one iteration, short).
test('a fault in a loop entered mid-body retires exactly the instructions before it, in every tier', () => {
  // head: dec ecx; jz out; add rdx,1; mid: mov [rax],rcx; add rax,0x800; jmp head; out: hlt
  const code = 'ffc9 740f 4883c201 488908 480500080000 ebed f4';
  const mid = CODE + 8, page = DATA + 0x10000; // DATA's 64 KiB end at `page`
  const tiers: [string, (m: Machine) => void, boolean][] = [
    ['interpreted', (m) => { m.interpretOnly = true; }, false],
    ['compiled', (m) => { m.hotAfter = 1; }, false],
    ['wasm', (m) => { m.hotAfter = 1; }, true],
  ];
  const state = (c: Cpu) => `rip=${c.rip - CODE} instret=${c.instret} rax=${c.getRegNum(Reg.RAX) - DATA} rcx=${c.getRegNum(Reg.RCX)} rdx=${c.getRegNum(Reg.RDX)}`;
  let once = true;
  const out = tiers.map(([name, set, wasm]) => wasmForced(wasm, () => {
    const env = setup(code);
    const { m, c } = env;
    set(m);
    assert.is(dis(env, mid), 'mov %rcx,(%rax)');
    c.rip = mid;
    c.setRegNum(Reg.RAX, page - 0x800); c.setRegNum(Reg.RCX, 4);
    // the first store fits, the second (one iteration later) faults on the unmapped page
    is(m.run(c, 1000), Stop.PageFault);
    const atFault = state(c);
    const ips = m.blockAt(c, mid).ips;
    once = once && new Set(ips).size === ips.length;
    m.mem.map(page, 0x10000, PERM_R | PERM_W);
    is(m.run(c, 1000), Stop.Halt);
    return `${name}: ${atFault}; ${state(c)} mem=${m.mem.read64(page + 0x1000)}`;
  }));
  assert.is(out[0], 'interpreted: rip=8 instret=6 rax=65536 rcx=3 rdx=1; rip=20 instret=24 rax=71680 rcx=0 rdx=3 mem=1');
  for (const o of out.slice(1)) assert.is(o.replace(/^\w+/, ''), out[0].replace(/^\w+/, ''), o);
  assert.ok(once, 'an address twice in the block at the entry');
});

// Budget slices that end inside a compiled block run its first ops as a tail block and go on in a head
// block of its rest (Machine.run): with code that rewrites an instruction of its own block on every
// iteration, every slice must end in the state of the one-instruction path, in every tier.
test('budget slices through self-modifying code: tail and head blocks end each slice exactly', () => {
  // L: inc rax; mov [rip+3],al (the immediate of the add); add rcx,1; dec rdx; jnz L; hlt
  const code = '48ffc0 880503000000 4883c101 48ffca 75ee f4';
  const tiers: [string, (m: Machine) => void, boolean][] = [
    ['interpreted', (m) => { m.interpretOnly = true; }, false],
    ['compiled', (m) => { m.hotAfter = 1; }, false],
    ['tiered', () => {}, false],
    ['wasm', (m) => { m.hotAfter = 1; }, true],
  ];
  for (const budget of [3, 4, 7, 1000]) {
    const out = tiers.map(([name, set, wasm]) => wasmForced(wasm, () => {
      const { m, c } = setup(code);
      m.mem.protect(CODE, 0x1000, PERM_R | PERM_W | PERM_X);
      set(m);
      c.setRegNum(Reg.RDX, 200);
      const states: string[] = [];
      for (let i = 0; i < 2000; i++) {
        const s = m.run(c, budget);
        states.push(`${s} rip=${c.rip - CODE} n=${c.instret} rax=${c.getRegNum(Reg.RAX)} rcx=${c.getRegNum(Reg.RCX)} rdx=${c.getRegNum(Reg.RDX)}`);
        if (s !== Stop.Budget) break;
      }
      return [name, states.join('\n')];
    }));
    // each iteration adds its own count, as a sign-extended imm8
    let rcx = 0;
    for (let i = 1; i <= 200; i++) rcx += i < 128 ? i : i - 256;
    assert.match(out[0][1], new RegExp(`^${Stop.Halt} rip=19 n=1001 rax=200 rcx=${BigInt.asUintN(64, BigInt(rcx))} rdx=0$`, 'm'));
    for (const [name, o] of out.slice(1)) assert.is(o, out[0][1], `budget ${budget}: ${name} vs interpreted`);
  }
});

test('port I/O goes to the machine; a handler can request a stop after the instruction', () => {
  const { m, c } = setup('b805000000 e780 b806000000 f4 ec f4');
  const seen: unknown[] = [];
  m.onPortOut = (cpu, port, size, v) => { seen.push([cpu.id, port, size, v]); m.requestStop(cpu); };
  is(m.run(c, 100), Stop.Requested);
  assert.equal(seen, [[0, 0x80, 4, 5]]);
  assert.is(c.rip, CODE + 7);
  is(m.run(c, 100), Stop.Halt);
  assert.is(c.getReg(Reg.RAX), 6n);
  m.onPortIn = (_cpu, port, size) => (port === 0x3f8 && size === 1 ? 0x41 : 0);
  c.setReg(Reg.RDX, 0x3f8n);
  c.rip = CODE + 13; c.halted = false;
  is(m.run(c, 100), Stop.Halt);
  assert.is(c.getReg(Reg.RAX), 0x41n);
  // in/out at CPL 3 raise #GP (IOPL 0, no I/O bitmap)
  const u = setup('e780');
  u.c.setCpl(3);
  u.m.mem.protect(CODE, 0x4000, PERM_R | PERM_X | 8);
  is(u.m.run(u.c, 10), Stop.GeneralProtection);
});

test('interrupt delivery pushes SS, RSP, RFLAGS, CS, RIP on a 16-byte aligned stack; iretq returns', () => {
  const env = setup('90 f4');
  const { m, c } = env;
  m.mem.writeBytes(HANDLER, hexBytes('48ffc3 48cf')); // inc rbx; iretq
  gate(m, 0x20, HANDLER);
  c.setRegNum(Reg.RSP, STACK_TOP - 0x108);
  c.setRflags(0x202 | 0x1); // IF, CF
  assert.ok(c.interrupt(0x20));
  assert.is(c.rip, HANDLER);
  const sp = c.getRegNum(Reg.RSP);
  assert.is(sp, STACK_TOP - 0x110 - 40); // aligned down to 16 first
  assert.is(m.mem.read64(sp), BigInt.asUintN(64, BigInt(CODE)));
  assert.is(m.mem.read64(sp + 8), 0x10n);
  assert.is(m.mem.read64(sp + 16), 0x203n);
  assert.is(m.mem.read64(sp + 24), BigInt.asUintN(64, BigInt(STACK_TOP - 0x108)));
  assert.is(m.mem.read64(sp + 32), 0x18n);
  assert.is(c.if_, 0); // interrupt gate
  is(m.run(c, 2), Stop.Budget);
  assert.is(c.rip, CODE); assert.is(c.getRegNum(Reg.RSP), STACK_TOP - 0x108);
  assert.is(c.getRflags() & 0x201, 0x201);
  assert.is(c.getReg(Reg.RBX), 1n);
});

test('from CPL 3 the frame goes on MSR_KTPC_RSP0 and the error code is pushed', () => {
  const env = setup('90');
  const { m, c } = env;
  gate(m, 14, HANDLER);
  const ustack = 0x7ff000;
  m.mem.map(0x7fe000, 0x2000, PERM_R | PERM_W | 8);
  c.setRegNum(Reg.RSP, ustack - 8);
  c.rsp0 = STACK_TOP - 0x400;
  c.cs = 0x33; c.ss = 0x2b; c.setCpl(3); c.rip = 0x401000;
  assert.ok(c.interrupt(14, 6));
  const sp = c.getRegNum(Reg.RSP);
  assert.is(sp, STACK_TOP - 0x400 - 48);
  assert.is(m.mem.read64(sp), 6n);
  assert.is(m.mem.read64(sp + 8), 0x401000n);
  assert.is(m.mem.read64(sp + 16), 0x33n);
  assert.is(m.mem.read64(sp + 32), BigInt(ustack - 8));
  assert.is(m.mem.read64(sp + 40), 0x2bn);
  assert.is(c.cpl, 0); assert.is(c.cs, 0x10);
  // a gate that is not present: delivery fails (the caller reports a double fault)
  assert.not.ok(c.interrupt(0x30));
  assert.match(c.stopText, 'not present');
});

// Cold code is stepped several instructions a call (machine.ts stepRun) while nothing the run loop checks
// between instructions changes; counting executions forces one instruction a time round the loop. Both
// must end every budget slice in the same state, with timer interrupts arriving mid-block and code that
// rewrites an instruction of its own block on every iteration.
test('cold code stepped several instructions a call ends each slice as one-at-a-time stepping does', () => {
  // sti; L: inc rax; mov [rip+3],al (the immediate of the add); add rcx,1; dec rdx; jnz L; hlt
  const code = 'fb 48ffc0 880503000000 4883c101 48ffca 75ee f4';
  const ways: [string, (m: Machine) => void][] = [
    ['one at a time', (m) => { m.countExecutions([CODE]); }],
    ['cold', (m) => { m.hotAfter = 1e9; }],
    ['tiered', () => {}],
  ];
  for (const budget of [1, 2, 3, 5, 7, 1000]) {
    const out = ways.map(([name, set]) => {
      const { m, c } = setup(code, { seed: 7 });
      m.mem.protect(CODE, 0x1000, PERM_R | PERM_W | PERM_X);
      m.mem.writeBytes(HANDLER, hexBytes('48ffc3 48cf')); // inc rbx; iretq
      gate(m, 0x20, HANDLER);
      m.setTimer(c, 23);
      set(m);
      c.setRegNum(Reg.RDX, 150);
      const states: string[] = [];
      for (let i = 0; i < 5000; i++) {
        const s = m.run(c, budget);
        states.push(`${s} rip=${c.rip - CODE} n=${c.instret} rax=${c.getRegNum(Reg.RAX)} rbx=${c.getRegNum(Reg.RBX)} rcx=${c.getRegNum(Reg.RCX)} rdx=${c.getRegNum(Reg.RDX)}`);
        if (s !== Stop.Budget) break;
      }
      return [name, states.join('\n')];
    });
    assert.match(out[0][1], /^\d+ rip=\d+ n=\d+ rax=150 rbx=[1-9]\d* rcx=\d+ rdx=0$/m);
    for (const [name, o] of out.slice(1)) assert.is(o, out[0][1], `budget ${budget}: ${name} vs one at a time`);
  }
});

test('timer interrupts arrive with IF=1 at instruction boundaries; hlt idles until the next one', () => {
  // main: sti; hlt; jmp $-1   handler: inc rbx; iretq
  const { m, c } = setup('fb f4 ebfd');
  m.mem.writeBytes(HANDLER, hexBytes('48ffc3 48cf'));
  gate(m, 0x20, HANDLER);
  m.setTimer(c, 1000);
  is(m.run(c, 60), Stop.Budget);
  const ticks = Number(c.getReg(Reg.RBX));
  assert.ok(ticks >= 10 && ticks <= 30, `ticks ${ticks}`);
  assert.ok(c.idleNs > 9000, `idle ${c.idleNs}`);
  assert.is(c.clock(), c.instret + c.idleNs);
  // hlt with IF=0 is a Halt stop, RIP past the hlt
  const h = setup('fa f4 90');
  is(h.m.run(h.c, 100), Stop.Halt);
  assert.is(h.c.rip, CODE + 2);
});

test('sti holds interrupts off for one more instruction (interrupt shadow)', () => {
  const { m, c } = setup('fb 90 90 90');
  m.mem.writeBytes(HANDLER, hexBytes('f4'));
  gate(m, 0x20, HANDLER);
  c.raise(0x20);
  is(m.run(c, 100), Stop.Halt); // the handler's hlt with IF cleared by the gate
  const sp = c.getRegNum(Reg.RSP);
  assert.is(m.mem.read64(sp), BigInt.asUintN(64, BigInt(CODE + 2)));
});

test('PAGE_PROBE pages: their instructions count as probe instructions and hold off interrupts', () => {
  const { m, c } = setup('f4');
  const slot = CODE + 0x3000;
  m.mem.protect(slot, 0x1000, PERM_R | PERM_X | PAGE_PROBE);
  m.mem.writeBytes(slot, hexBytes('90 90 90 ffe0')); // nop x3; jmp rax
  m.mem.writeBytes(HANDLER, hexBytes('f4'));
  gate(m, 0x20, HANDLER);
  c.rip = slot; c.setRegNum(Reg.RAX, CODE);
  c.setRflags(0x202);
  c.raise(0x20);
  is(m.run(c, 100), Stop.Halt);
  assert.is(c.probeInstret, 4);
  assert.is(c.instret, 1); // the handler's hlt
  assert.is(m.mem.read64(c.getRegNum(Reg.RSP)), BigInt.asUintN(64, BigInt(CODE)));
});

/** Two CPUs incrementing a shared counter with lock xadd, each also counting its own timer ticks. */
function smp(seed: number, quantum: number): { snap: string; m: Machine } {
  // loop: mov eax,1; lock xadd [rdi],eax; inc rsi; jmp loop       handler: inc rbx; iretq
  const { m } = setup('b801000000 f00fc107 48ffc6 ebf2', { cpus: 2, seed });
  m.mem.writeBytes(HANDLER, hexBytes('48ffc3 48cf'));
  gate(m, 0x20, HANDLER);
  for (const c of m.cpus) {
    c.online = true;
    c.setRegNum(Reg.RDI, DATA);
    c.setRegNum(Reg.RSP, STACK_TOP - 0x100 - c.id * 0x1000);
    c.setRflags(0x202);
    m.setTimer(c, 500);
  }
  const r = m.runAll(100000, 1000);
  assert.is(r && `${stopName(r.stop)} on cpu ${r.cpu.id} at ${r.cpu.rip.toString(16)}: ${r.cpu.stopText}`, null);
  const snap = JSON.stringify(m.cpus.map((c) => [c.instret, c.getReg(Reg.RBX).toString(), c.getReg(Reg.RSI).toString(), c.rip, c.nextTimer]))
    + m.mem.read32(DATA);
  return { snap, m };
}

test('several CPUs: deterministic interleaving and timers for a seed; budget shared', () => {
  const a = smp(7, 1000), b = smp(7, 1000), d = smp(8, 1000);
  assert.is(a.snap, b.snap);
  assert.is.not(a.snap, d.snap);
  const [c0, c1] = a.m.cpus;
  assert.is(c0.instret + c1.instret, 100000);
  // every increment of the shared counter is accounted for by the two CPUs' own counts
  const incs = a.m.mem.read32(DATA), loops = Number(c0.getReg(Reg.RSI) + c1.getReg(Reg.RSI));
  assert.ok(incs - loops <= 2 && incs >= loops, `${incs} vs ${loops}`);
  assert.ok(c0.getReg(Reg.RBX) > 50n && c1.getReg(Reg.RBX) > 50n);
});

test('IPIs wake a halted CPU; when every CPU is halted time jumps to the next timer', () => {
  const { m } = setup('fb f4 ebfd', { cpus: 2 }); // sti; hlt; jmp $-1
  m.mem.writeBytes(HANDLER, hexBytes('48ffc3 48cf'));
  gate(m, 0x20, HANDLER); gate(m, 0xf2, HANDLER);
  const [c0, c1] = m.cpus;
  c1.online = true;
  c1.setRegNum(Reg.RSP, STACK_TOP - 0x2000);
  // both halted, no timers: runAll reports the halt
  const r = m.runAll(1000, 100);
  assert.ok(r !== null && r.stop === Stop.Halt);
  m.ipi(1);
  m.runAll(20, 100);
  assert.is(c1.getReg(Reg.RBX), 1n);
  assert.is(c0.getReg(Reg.RBX), 0n);
  m.setTimer(c0, 100000);
  const before = c0.clock();
  m.runAll(20, 100);
  // 4 instructions per tick (handler, jmp, hlt): 5 ticks, each after an idle jump of one period +- 1/8
  const ticks = Number(c0.getReg(Reg.RBX));
  assert.is(ticks, 5);
  assert.ok(c0.clock() - before >= ticks * 100000 * 7 / 8 && c0.clock() - before <= ticks * 100000 * 9 / 8 + 20, `${c0.clock() - before}`);
  assert.is(c1.getReg(Reg.RBX), 1n);
});

test('requestStop from outside run makes the next run return Requested', () => {
  const { m, c } = setup('90 f4');
  m.requestStop(c);
  is(m.run(c, 100), Stop.Requested);
  assert.is(c.rip, CODE);
  is(m.run(c, 100), Stop.Halt);
});

void Cpu;

test('platform hooks: onCpuid answers leaves (undefined keeps ktrace-pc\'s), onMsrRead/onMsrWrite add MSRs', () => {
  // cpuid(eax=1); mov r8d,eax; cpuid(eax=0); mov ecx,0x277; rdmsr; mov ecx,0x277; wrmsr; mov ecx,0x278; wrmsr; hlt
  const code = 'b801000000 0fa2 4189c0 b800000000 0fa2 b977020000 0f32 b977020000 0f30 b978020000 0f30 f4';
  const { m, c } = setup(code);
  const written: Array<[number, bigint]> = [];
  m.onCpuid = (_c, leaf) => (leaf === 1 ? [0x12345, 0, 0, 0] : undefined);
  m.onMsrRead = (_c, n) => (n === 0x277 ? 0x0007040600070406n : undefined);
  m.onMsrWrite = (_c, n, v) => { written.push([n, v]); return n === 0x277; };
  const s = m.run(c, 100);
  assert.is(c.getReg(Reg.R8), 0x12345n, 'leaf 1 from the hook');
  assert.is(c.getReg(Reg.RBX) & 0xffffffffn, 0x6172744bn, 'leaf 0 still ktrace-pc\'s ("Ktra")');
  assert.equal(written, [[0x277, 0x0007040600070406n], [0x278, 0x0007040600070406n]]);
  is(s, Stop.GeneralProtection); // the hook refused MSR 0x278
  assert.is(c.rip, CODE + 0x24, 'stopped at the refused wrmsr');
});

test('onPaging hears CR3, CR4 and CR0 writes and invlpg (with its address); unmapPages drops pages in one flush', () => {
  // mov rax,0x5000; mov cr3,rax; mov rax,cr4; mov cr4,rax; mov rax,cr0; mov cr0,rax; invlpg [rcx]; hlt
  const { m, c } = setup('48c7c000500000 0f22d8 0f20e0 0f22e0 0f20c0 0f22c0 0f0139 f4');
  const seen: Array<[number, number]> = [];
  m.onPaging = (_c, kind, addr) => seen.push([kind, addr]);
  c.setRegNum(Reg.RCX, DATA + 0x1234);
  is(m.run(c, 100), Stop.Halt);
  assert.equal(seen, [[0, 0x5000], [2, 0], [3, 0], [1, DATA + 0x1234]]);
  m.mem.unmapPages([DATA, DATA + 0x1000, 0x7000]);
  assert.is(m.mem.permsAt(DATA), 0);
  assert.is(m.mem.permsAt(DATA + 0x2000), PERM_R | PERM_W);
});

test('lretq: pops RIP then CS at the same privilege (startup_64 reloads CS so after lgdt)', () => {
  // push 0x10; lea rax,[rip+3]; push rax; lretq; nop(target: mov ebx,1); hlt
  const { m, c } = setup('6a10 488d0503000000 50 48cb 90 bb01000000 f4');
  const sp = c.getRegNum(Reg.RSP);
  is(m.run(c, 100), Stop.Halt);
  assert.is(c.getReg(Reg.RBX), 1n);
  assert.is(c.cs, 0x10);
  assert.is(c.getRegNum(Reg.RSP), sp);
  const { m: m2, c: c2 } = setup('6a13 488d0503000000 50 48cb f4'); // to CPL 3: not implemented
  is(m2.run(c2, 100), Stop.InvalidOpcode);
  assert.match(c2.stopText, /another privilege level/);
});

test('an instruction running into an unmapped page faults there; once the page is mapped it runs', () => {
  // mov eax,1 (5 bytes) straddling CODE+0x3ffd..: its last 2 bytes are on the next page, not mapped yet
  const { m, c } = setup('90');
  const at = CODE + 0x3ffd;
  m.mem.writeBytes(at, Uint8Array.of(0xb8, 0x01, 0x00));
  c.rip = at;
  is(m.run(c, 10), Stop.PageFault);
  assert.is(c.faultAddr, CODE + 0x4000);
  m.mem.map(CODE + 0x4000, 0x1000, PERM_R | PERM_X); // as a platform resolving the #PF would
  m.mem.writeBytes(CODE + 0x4000, Uint8Array.of(0x00, 0x00, 0xf4));
  is(m.run(c, 10), Stop.Halt);
  assert.is(c.getReg(Reg.RAX), 1n);
});

test('debug registers: stored and read back (DR6/DR7 fixed bits); enabling a hardware breakpoint is refused', () => {
  // mov rax,dr7; mov rbx,0x1234; mov dr0,rbx; mov rcx,dr0; xor edx,edx; mov dr7,rdx; mov rdx,dr6; hlt
  const { m, c } = setup('0f21f8 48c7c334120000 0f23c3 0f21c1 31d2 0f23fa 0f21f2 f4');
  is(m.run(c, 100), Stop.Halt);
  assert.is(c.getReg(Reg.RAX), 0x400n);
  assert.is(c.getReg(Reg.RCX), 0x1234n);
  assert.is(c.getReg(Reg.RDX), 0xffff0ff0n);
  const { m: m2, c: c2 } = setup('b801000000 0f23f8 f4'); // mov eax,1; mov dr7,rax
  is(m2.run(c2, 100), Stop.InvalidOpcode);
  assert.match(c2.stopText, /hardware breakpoints/);
});

test('x87/SSE state: fninit, fxsave, fxrstor, stmxcsr and ldmxcsr keep and move the 512-byte image', () => {
  // fninit; fxsave [rbx]; mov dword [rbx+24],0x1f00; fxrstor [rbx]; stmxcsr [rbx+512]; hlt
  const { m, c } = setup('dbe3 0fae03 c7431800 1f0000 0fae0b 0fae9b00020000 f4');
  c.setRegNum(Reg.RBX, DATA + 0x100);
  m.mem.writeBytes(DATA + 0x100, new Uint8Array(512).fill(0xee));
  is(m.run(c, 100), Stop.Halt);
  assert.is(m.mem.read16(DATA + 0x100), 0x37f, 'FCW after fninit');
  assert.is(m.mem.read16(DATA + 0x102), 0, 'FSW');
  assert.is(m.mem.read32(DATA + 0x100 + 28), 0xffff, 'MXCSR_MASK');
  assert.is(m.mem.read32(DATA + 0x100 + 200), 0, 'registers saved as zeros over the old 0xee bytes');
  assert.is(m.mem.read32(DATA + 0x300), 0x1f00, 'the MXCSR fxrstor loaded');
  const { m: m2, c: c2 } = setup('0fae4b08 f4'); // fxsave [rbx+8]: misaligned
  c2.setRegNum(Reg.RBX, DATA);
  is(m2.run(c2, 100), Stop.GeneralProtection);
  const { m: m3, c: c3 } = setup('0fae13 f4'); // ldmxcsr [rbx] with reserved bits
  c3.setRegNum(Reg.RBX, DATA);
  m3.mem.write32(DATA, 0x10000);
  is(m3.run(c3, 100), Stop.GeneralProtection);
});

test.run();
