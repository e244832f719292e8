import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Machine, Stop } from '../../../src/emu/machine.js';
import { Reg } from '../../../src/emu/cpu.js';
import { PF_P, PF_W } from '../../../src/emu/memory.js';
import { toAddr } from '../../../src/base/addr.js';
import { GuestMmu, writeIdentityTables } from '../../../src/kernel/linux/mmu.js';

const TEXT = toAddr(0xffffffff81000000n), DIRECT = toAddr(0xffff888000000000n);
/** A second virtual page on the text page's physical frame. */
const ALIAS = DIRECT + 0x2000;
const P = 1n, RW = 2n, A = 0x20n, D = 0x40n, G = 0x100n, NX = 1n << 63n;

/** Guest RAM with 4-level tables at 0x1000..: TEXT -> 0x100000 (global, read-only, executable),
 *  DIRECT -> 0x200000 (writable, NX), DIRECT+4K -> 0x201000 (read-only). */
function guest(code: number[]) {
  const ram = new Uint8Array(4 << 20);
  const dv = new DataView(ram.buffer);
  const set = (pa: number, v: bigint) => dv.setBigUint64(pa, v, true);
  const idx = (va: number, level: number) => Number((BigInt.asUintN(64, BigInt(va)) >> BigInt(12 + 9 * level)) & 511n);
  let next = 0x2000;
  const tables = new Map<string, number>();
  const map = (va: number, pa: number, flags: bigint) => {
    let table = 0x1000;
    for (let level = 3; level >= 1; level--) {
      const key = `${table}:${idx(va, level)}`;
      let t = tables.get(key);
      if (t === undefined) { t = next; next += 0x1000; tables.set(key, t); set(table + idx(va, level) * 8, BigInt(t) | P | RW); }
      table = t;
    }
    set(table + idx(va, 0) * 8, BigInt(pa) | flags);
    return table + idx(va, 0) * 8;
  };
  const textPte = map(TEXT, 0x100000, P | G);
  const dataPte = map(DIRECT, 0x200000, P | RW | NX);
  const roPte = map(DIRECT + 0x1000, 0x201000, P | NX);
  map(ALIAS, 0x100000, P | RW | NX); // a writable alias of the text page (as text_poke makes one)
  ram.set(code, 0x100000);
  const m = new Machine({ cpus: 1 });
  const c = m.cpus[0];
  c.cr3 = 0x1000; c.cr4 |= 0x80; c.rip = TEXT;
  const mmu = new GuestMmu(m.mem, ram);
  const denied: number[] = [];
  m.onTrap = (cpu, stop) => {
    if (stop !== Stop.PageFault) return false;
    const r = mmu.resolve(cpu);
    if (r === 'mapped') return true;
    denied.push(cpu.errorCode);
    return false;
  };
  m.onPaging = (cpu, kind, addr) => mmu.onPaging(cpu, kind, addr);
  const pte = (pa: number) => dv.getBigUint64(pa, true);
  return { m, c, ram, mmu, denied, pte, textPte, dataPte, roPte };
}

test('a walk maps pages on demand; A and D are set as the hardware sets them; the bytes are guest RAM', () => {
  // mov rax,[rbx]; mov [rbx+8],rcx; hlt
  const g = guest([0x48, 0x8b, 0x03, 0x48, 0x89, 0x4b, 0x08, 0xf4]);
  g.ram[0x200000] = 0x5a;
  g.c.setRegNum(Reg.RBX, DIRECT); g.c.setRegNum(Reg.RCX, 0x1234);
  assert.is(g.m.runAll(100)?.stop, Stop.Halt, 'ran to hlt');
  assert.is(g.c.getReg(Reg.RAX) & 0xffn, 0x5an);
  assert.is(g.ram[0x200008], 0x34, 'the store landed in guest RAM');
  assert.is(g.pte(g.textPte) & (A | D), A, 'code page: accessed, clean');
  assert.is(g.pte(g.dataPte) & (A | D), A | D, 'data page: accessed and dirty');
  assert.is(g.mmu.faults, 3, 'text, then data read (mapped read-only: clean), then the write (dirty)');
});

test('the guest\'s protection holds: a write to a read-only page is the guest\'s #PF with P|W', () => {
  const g = guest([0x48, 0x89, 0x0b, 0xf4]); // mov [rbx],rcx
  g.c.setRegNum(Reg.RBX, DIRECT + 0x1000);
  g.c.cr0 |= 1 << 16; // WP
  g.m.runAll(100);
  assert.equal(g.denied, [PF_P | PF_W]);
  assert.is(g.c.rip, TEXT, 'precise: at the faulting store');
});

test('CR3 writes drop non-global mappings (global kept with CR4.PGE); invlpg drops one page', () => {
  // mov rax,[rbx]; mov rdx,cr3; mov cr3,rdx; hlt
  const g = guest([0x48, 0x8b, 0x03, 0x0f, 0x20, 0xda, 0x0f, 0x22, 0xda, 0xf4]);
  g.c.setRegNum(Reg.RBX, DIRECT);
  g.m.runAll(100);
  assert.is(g.m.mem.permsAt(DIRECT), 0, 'non-global data mapping dropped');
  assert.ok(g.m.mem.permsAt(TEXT) !== 0, 'global text mapping kept');
  g.mmu.onPaging(g.c, 1, TEXT + 5);
  assert.is(g.m.mem.permsAt(TEXT), 0, 'invlpg dropped it');
});

test('identity tables for the boot protocol map [0, size) with 2 MiB pages', () => {
  const ram = new Uint8Array(8 << 20);
  const m = new Machine({ cpus: 1 });
  const mmu = new GuestMmu(m.mem, ram);
  const cr3 = writeIdentityTables(ram, 0x9000, 8 << 20);
  assert.equal(mmu.walk(cr3, 0x723456)?.pa, 0x723000);
  assert.ok(mmu.walk(cr3, 0x7fffff)?.write);
  assert.is(mmu.walk(cr3, 8 << 20), undefined, 'nothing beyond');
});

test('a fault resolved by the walk leaves CR2 as the guest last saw it', () => {
  const g = guest([0x48, 0x8b, 0x03, 0xf4]); // mov rax,[rbx]
  g.c.setRegNum(Reg.RBX, DIRECT);
  g.m.runAll(100);
  assert.is(g.mmu.faults, 2);
  assert.is(g.c.cr2, 0, 'no guest-visible fault happened yet: CR2 is the guest\'s (0 at reset)');
  const h = guest([0x48, 0x89, 0x0b, 0xf4]); // a guest-visible fault sets it
  h.c.setRegNum(Reg.RBX, DIRECT + 0x1000);
  h.c.cr0 |= 1 << 16;
  h.m.runAll(100);
  assert.is(h.c.cr2, DIRECT + 0x1000);
});

for (const mode of ['compiled blocks', 'one instruction at a time']) {
  test(`a store through one virtual alias invalidates code decoded through another (physical page), ${mode}`, () => {
    // 0: call f; mov r8,rax; mov byte [rbx+0x101],2; call f; hlt      f (at 0x100): mov eax,1; ret
    const code = new Array(0x106).fill(0x90);
    const call = (at: number) => { const rel = 0x100 - (at + 5); code.splice(at, 5, 0xe8, rel & 255, (rel >> 8) & 255, (rel >> 16) & 255, (rel >> 24) & 255); };
    call(0);
    code.splice(5, 3, 0x49, 0x89, 0xc0);
    code.splice(8, 7, 0xc6, 0x83, 0x01, 0x01, 0x00, 0x00, 0x02);
    call(15);
    code[20] = 0xf4;
    code.splice(0x100, 6, 0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3);
    const g = guest(code);
    if (mode === 'compiled blocks') g.m.hotAfter = 1; else g.m.interpretOnly = true;
    g.c.setRegNum(Reg.RBX, ALIAS);
    g.c.setRegNum(Reg.RSP, DIRECT + 0x800);
    assert.is(g.m.runAll(1000)?.stop, Stop.Halt, `denied ${g.denied} cr2 ${g.c.cr2.toString(16)} rip ${g.c.rip.toString(16)}`);
    assert.is(g.c.getReg(Reg.R8), 1n, 'before the store');
    assert.is(g.c.getReg(Reg.RAX), 2n, 'after the store through the alias: the new immediate');
    assert.is(g.ram[0x100101], 2);
  });
}

test.run();
