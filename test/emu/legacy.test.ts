// The legacy-mode path (src/emu/legacy.ts) on a hand-assembled trampoline shaped like Linux's
// arch/x86/realmode/rm/trampoline_64.S: real mode at the start-up IPI's vector, a real-mode far jump,
// verify_cpu's flag and CPUID checks, lidtl/lgdtl, CR0.PE, a far jump into a 32-bit segment, PAE,
// CR3, EFER.LME through rdmsr/wrmsr, CR0.PG (compatibility mode), and a far jump to a 64-bit code
// segment, after which the 64-bit run loop goes on. Bytes assembled with GNU as (listing beside them).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Machine, Stop, stopName } from '../../src/emu/machine.js';
import { Reg, type Cpu } from '../../src/emu/cpu.js';
import { LegacyState, MODE_LEGACY, runLegacy, startupIpi, type LegacyBus } from '../../src/emu/legacy.js';
import { GuestMmu, writeIdentityTables } from '../../src/kernel/linux/mmu.js';

const BASE = 0x9000, VECTOR = 0x09, TABLES = 0x10000;
/* .code16 at 0x9000 (SIPI vector 0x09):
   0: cli; wbinvd; ljmp $0x900,$0x8; mov %cs,%ax; mov %ax,%ds; mov %ax,%es; mov %ax,%ss; mov $0x140,%esp;
  16: call verify(0x49); test %eax,%eax; jne nolong(0x46); mov $0xfffe,%bx; movw $0x5a5a,0x4(%bx);
  26: lidtl 0xee; lgdtl 0xe8; mov $0x18,%dx; mov $0x11,%eax; mov %eax,%cr0; ljmpl $0x8,$0x9083
  46: nolong: hlt; jmp nolong
  49: verify: pushf; push $0; popf; pushfl; pop %eax; mov %eax,%ebx; xor $0x200000,%eax; push %eax; popfl;
      pushfl; pop %eax; cmp %eax,%ebx; je bad; mov $0x80000001,%eax; cpuid; bt $29,%edx; jae bad; popf;
      xor %eax,%eax; ret; bad: popf; mov $1,%eax; ret
  .code32 83: mov %edx,%ss; add $0x9000,%esp; mov %edx,%ds; mov %edx,%es; mov $0x20,%eax; mov %eax,%cr4;
      mov $0x10000,%eax; mov %eax,%cr3; mov $0xc0000080,%ecx; rdmsr; bts $8,%eax; wrmsr; push $0x11223344;
      mov $0x80000011,%eax; mov %eax,%cr0; ljmp $0x10,$0x90c0
  .code64 c0: pop %rcx; mov $0x1234,%eax; hlt
  gdt (c8): null, 32-bit code 0x08, 64-bit code 0x10, data 0x18; gdt_desc (e8); idt_desc (ee); stack to 0x140 */
const CODE = 'fa0f09ea080000098cc88ed88ec08ed066bc40010000e830006685c07528bbfeffc747045a5a660f011eee00660f0116e800ba180066b8110000000f22c066ea839000000800f4ebfd9c6a009d669c66586689c36635000020006650669d669c66586639c3741466b8010000800fa2660fbae21d73059d6631c0c39d66b801000000c38ed281c4009000008eda8ec2b8200000000f22e0b8000001000f22d8b9800000c00f320fbae8080f306844332211b8110000800f22c0eac0900000100059b834120000f4900000000000000000ffff0000009acf00ffff0000009aaf00ffff00000092cf001f00c890000000000000000000';
/** Instructions on the path, counted from the listing: 9 before verify, 20 in it, 10 to the far jump,
 *  16 in 32-bit code, 3 in 64-bit code. */
const PATH = 9 + 20 + 10 + 16 + 3;

function machine(lm = true): { m: Machine; c: Cpu; ram: Uint8Array; st: LegacyState; errors: string[] } {
  const m = new Machine({ cpus: 1 });
  const ram = m.mem.allocPhysical(4 << 20);
  const mmu = new GuestMmu(m.mem, ram);
  m.onPaging = (c, kind, addr) => mmu.onPaging(c, kind, addr);
  m.onCpuid = (_c, leaf) => leaf === 0x80000001 ? [0, 0, 0, lm ? 1 << 29 : 0] : [0, 0, 0, 0];
  ram.set(Buffer.from(CODE, 'hex'), BASE);
  writeIdentityTables(ram as Uint8Array<ArrayBuffer>, TABLES, 4 << 20);
  const bus: LegacyBus = {
    readPhys: (pa) => ram[pa],
    writePhys: (pa, _s, v) => { ram[pa] = v; },
    translate: (c, linear) => { const w = mmu.walk(c.cr3, linear); return w ? w.pa + (linear & 4095) : undefined; },
  };
  const st = new LegacyState();
  const errors: string[] = [];
  m.onLegacy = (c, budget) => {
    const r = runLegacy(c, st, bus, budget);
    if (r === 'long') return null;
    if (r === 'budget') return Stop.Budget;
    if (r === 'halt') return Stop.Halt;
    errors.push(r.error);
    return Stop.InvalidOpcode;
  };
  const c = m.cpus[0];
  startupIpi(c, st, VECTOR);
  // paging faults resolved as the Linux platform resolves them
  const run = m.run.bind(m);
  m.run = (cpu, budget) => {
    for (;;) {
      const s = run(cpu, budget);
      if (s !== Stop.PageFault || mmu.resolve(cpu) !== 'mapped') return s;
    }
  };
  return { m, c, ram, st, errors };
}

test('real -> protected -> long mode through a trampoline-shaped sequence, then the 64-bit run loop', () => {
  const { m, c, ram, errors } = machine();
  assert.is(c.mode, MODE_LEGACY);
  const s = m.run(c, 1000);
  assert.equal(errors, []);
  assert.is(stopName(s), 'Halt');
  assert.is(c.mode, 0);
  assert.is(c.regs[0], 0x1234, '64-bit code ran');
  assert.is(c.getRegNum(Reg.RCX), 0x11223344, 'the 32-bit push is the 64-bit pop');
  assert.is(c.getRegNum(Reg.RSP), BASE + 0x140 + 4, 'real-mode SP + the 32-bit segment adjustment');
  assert.is(c.cs, 0x10);
  assert.is(c.gdtBase, BASE + 0xc8);
  assert.is(c.gdtLimit, 31);
  assert.is(c.cr3, TABLES);
  assert.ok((c.cr0 >>> 0) === 0x80000011 && c.cr4 === 0x20);
  assert.ok((Number(c.readMsr(0xc0000080)) & 0x500) === 0x500, 'EFER.LME and LMA');
  assert.is(c.instret, PATH);
  // the 16-bit effective address 0xfffe+4 wrapped to offset 2 of DS (base 0x9000)
  assert.equal([ram[BASE + 2], ram[BASE + 3]], [0x5a, 0x5a]);
  assert.equal([ram[0x19002], ram[0x19003]], [0, 0]);
  // the 32-bit push went through SS base 0 at ESP 0x9140 - 4
  assert.equal([...ram.subarray(BASE + 0x13c, BASE + 0x140)], [0x44, 0x33, 0x22, 0x11]);
});

test('verify_cpu path without long mode in CPUID halts in real mode', () => {
  const { m, c, errors } = machine(false);
  const s = m.run(c, 1000);
  assert.equal(errors, []);
  assert.is(stopName(s), 'Halt');
  assert.is(c.mode, MODE_LEGACY);
  assert.is(c.rip, 0x47, 'after the hlt at nolong');
  assert.is(c.regs[0], 1);
});

test('a budget stops legacy mode mid-way and the run resumes exactly', () => {
  const { m, c, errors } = machine();
  let stops = 0, s: Stop;
  do { s = m.run(c, 7); stops++; } while (s === Stop.Budget);
  assert.equal(errors, []);
  assert.is(stopName(s), 'Halt');
  assert.ok(stops > PATH / 7 - 1);
  assert.is(c.instret, PATH);
  assert.is(c.regs[0], 0x1234);
});

test('an instruction legacy mode lacks ends the run with a one-line error', () => {
  const { m, c, ram, errors } = machine();
  ram.set([0x0f, 0x31], BASE); // rdtsc at the start-up vector
  assert.is(stopName(m.run(c, 10)), 'InvalidOpcode');
  assert.equal(errors, ['legacy mode at 0x900:0x0: rdtsc (0f 31) is not implemented in legacy mode']);
});

test.run();
