import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Disassembler } from '../../src/elf/disasm.js';
import { fixtureImage } from './fixture.js';

const img = fixtureImage();
const fn = (name: string) => {
  const f = img.functions.find((s) => s.name === name);
  assert.ok(f, `function ${name}`);
  return f!;
};

test('NOKPROBE_SYMBOL entries: the recorded addresses are function starts, ranges use the kallsyms size', () => {
  const addrs = img.blacklistAddresses;
  assert.ok(addrs.length >= 4, `${addrs.length} entries`);
  const nok = img.kprobeBlacklist.filter((e) => e.source === 'NOKPROBE_SYMBOL');
  assert.is(nok.length, addrs.length);
  for (const e of nok) {
    const at = img.lookupAddr(e.start)!;
    assert.is(at.offset, 0, `${e.name} starts a symbol`);
    assert.is(e.end - e.start, at.size);
    assert.ok(img.isText(e.start));
  }
  const names = new Set(nok.map((e) => e.name));
  for (const n of ['do_int3', 'exc_debug', 'notifier_call_chain', 'do_page_fault']) assert.ok(names.has(n), `${n} blacklisted`);
  assert.ok(img.inKprobeBlacklist(fn('do_int3').addr + 1));
  assert.not.ok(img.inKprobeBlacklist(fn('vfs_read').addr));
});

test('.entry.text and .kprobes.text: ranges from their linker symbols, every function inside blacklisted', () => {
  const entry = img.entryText!, kp = img.kprobesText!;
  assert.ok(entry && entry.end > entry.start);
  assert.ok(kp && kp.end >= kp.start);
  const e = fn('entry_SYSCALL_64');
  assert.ok(e.addr >= entry.start && e.addr < entry.end);
  for (const [range, source] of [[entry, '.entry.text'], [kp, '.kprobes.text']] as const) {
    const inside = img.functions.filter((f) => f.addr >= range.start && f.addr < range.end);
    for (const f of inside) {
      assert.ok(img.kprobeBlacklist.some((b) => b.source === source && f.addr >= b.start && f.addr < b.end), `${f.name} in ${source} blacklisted`);
    }
    // area entries tile the range
    const parts = img.kprobeBlacklist.filter((b) => b.source === source);
    for (let i = 1; i < parts.length; i++) assert.is(parts[i]!.start, parts[i - 1]!.end);
    if (parts.length) { assert.is(parts[0]!.start, range.start); assert.is(parts[parts.length - 1]!.end, range.end); }
  }
});

test('__mcount_loc: every site is a function entry holding the 5-byte nop of -mnop-mcount', () => {
  const sites = img.mcountSites;
  assert.ok(sites.length > 50, `${sites.length} sites`);
  const starts = new Set(img.functions.map((f) => f.addr));
  for (const s of sites) {
    assert.ok(starts.has(s), `site ${s.toString(16)} is a function start`);
    assert.equal([...img.read(s, 5)!], [0x0f, 0x1f, 0x44, 0x00, 0x00]);
  }
  assert.ok(sites.includes(fn('vfs_read').addr));
});

test('exception table: relative entries decode to instruction boundaries and fixups in text', () => {
  const ex = img.exceptionTable;
  assert.ok(ex.length >= 2, `${ex.length} entries`);
  const d = new Disassembler(img);
  try {
    for (const e of ex) {
      assert.ok(img.isText(e.insn) && img.isText(e.fixup));
      const f = img.functionAt(e.insn);
      assert.ok(f, 'faulting insn inside a function');
      assert.ok(d.lines(f!.addr, f!.addr + f!.size).some((l) => l.addr === e.insn), 'an instruction boundary');
    }
  } finally {
    d.free();
  }
  // The user-copy primitives (arch/x86/lib/copy_user_64.S, getuser/putuser) are where the entries are.
  const holders = new Set(ex.map((e) => img.functionAt(e.insn)!.name));
  assert.ok(holders.has('copy_user_generic'), [...holders].join(' '));
});

test('text, data and init ranges from _stext/_etext, _sdata/_edata, __init_begin/__init_end', () => {
  const text = img.text!, data = img.data!;
  assert.ok(text.start === img.symbolAddr('_stext') && text.end === img.symbolAddr('_etext'));
  assert.ok(data.start === img.symbolAddr('_sdata') && data.end === img.symbolAddr('_edata'));
  assert.is(text.start, -0x7f000000);
  assert.ok(img.isText(fn('vfs_read').addr));
  assert.not.ok(img.isText(data.start));
  const init = img.initRange;
  assert.ok(init && init.end > init.start);
});

test.run();
