// Instruction slots: executable probe pages in the module area, within rel32 reach of the text.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Machine } from '../../src/emu/machine.js';
import { PAGE_PROBE, PERM_W, PERM_X } from '../../src/emu/memory.js';
import { InsnSlots, INSN_SLOT_SIZE, MODULES_VADDR } from '../../src/kprobe/slots.js';

test('slots are int3-filled, executable PAGE_PROBE memory near the text, reused after release', () => {
  const m = new Machine({ cpus: 1 });
  const s = new InsnSlots(m.mem);
  const a = s.alloc(), b = s.alloc();
  assert.is(b - a, INSN_SLOT_SIZE);
  assert.is(a, MODULES_VADDR);
  const perms = m.mem.permsAt(a);
  assert.ok(perms & PAGE_PROBE); assert.ok(perms & PERM_X); assert.not.ok(perms & PERM_W, 'not guest-writable');
  assert.ok([...m.mem.readBytes(a, INSN_SLOT_SIZE)].every((x) => x === 0xcc));
  assert.ok(Math.abs(a - -0x7f000000) < 2 ** 31, 'rel32 reach of the kernel text');
  assert.ok(s.contains(a) && s.contains(b) && !s.contains(-0x7f000000));
  m.mem.writeBytes(a, Uint8Array.of(0x90));
  s.release(a);
  assert.is(s.alloc(), a);
  assert.is(m.mem.read8(a), 0xcc, 'a reused slot is wiped');
  for (let i = 0; i < 200; i++) s.alloc();
  const area = s.allocArea(2);
  assert.is(area % 4096, 0);
  assert.ok(m.mem.permsAt(area + 4096) & PAGE_PROBE);
});

test.run();
