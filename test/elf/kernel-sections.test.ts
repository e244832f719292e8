import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Disassembler } from '../../src/elf/disasm.js';
import { fixtureImage } from './fixture.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Image } from '../../src/elf/image.js';
import { jumpLabelSites, staticCallSites, bugSites, smpLockSites, patchedTextSites, type KernelImage } from '../../src/elf/kernel-sections.js';
import { bundledLinuxPath, LINUX_FIXTURE_DIR } from '../../src/kernel/linux/bundle.js';
import { readdirSync } from 'node:fs';
import { cacheRoot } from '../../src/cache.js';
import { openImage as loadImage } from '../../src/elf/open.js';
import { seededSample } from '../../src/kprobe/sweep.js';

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

// ---- the tables of text the kernel patches itself

/** A KernelImage of one data section (the tables, at 0x1000) and one text section (at 0x10000). */
function tinyImage(symbols: Record<string, number>, data: Uint8Array, text: Uint8Array): KernelImage {
  const at = (a: number, n: number, base: number, b: Uint8Array) => (a >= base && a + n <= base + b.length ? b.subarray(a - base, a - base + n) : undefined);
  return {
    kallsyms: undefined!, symbolAddr: (n) => symbols[n], sectionByName: () => undefined,
    isText: (a) => a >= 0x10000 && a < 0x10000 + text.length,
    read: (a, n) => at(a, n, 0x1000, data) ?? at(a, n, 0x10000, text), readAddrs: () => [],
  };
}

test('__jump_table: relative entries, each site as long as the jmp or nop there (arch_jump_entry_size)', () => {
  // struct jump_entry { s32 code, target; long key; }: three sites, at text+0 (jmp rel8), +2 (5-byte nop), +7 (66 90)
  const text = Uint8Array.of(0xeb, 0x00, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x66, 0x90, 0xc3);
  const data = new Uint8Array(48), dv = new DataView(data.buffer);
  [0, 2, 7].forEach((off, i) => { const e = 0x1000 + i * 16; dv.setInt32(i * 16, 0x10000 + off - e, true); dv.setInt32(i * 16 + 4, 0x10009 - (e + 4), true); });
  const img = tinyImage({ __start___jump_table: 0x1000, __stop___jump_table: 0x1030 }, data, text);
  assert.equal(jumpLabelSites(img), [{ start: 0x10000, end: 0x10002 }, { start: 0x10002, end: 0x10007 }, { start: 0x10007, end: 0x10009 }]);
  const m = patchedTextSites(img);
  assert.equal([...m.keys()].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8].map((o) => 0x10000 + o));
  assert.match(m.get(0x10004)!, /jump_label_text_reserved/);
  assert.is(m.get(0x10009), undefined);
});

test('__bug_table: the entry size is the one whose every address is text (12 with BUGVERBOSE, 8 without)', () => {
  const text = new Uint8Array(64);
  for (const stride of [12, 8]) {
    const data = new Uint8Array(stride * 3), dv = new DataView(data.buffer);
    [4, 20, 40].forEach((off, i) => { dv.setInt32(i * stride, 0x10000 + off - (0x1000 + i * stride), true); if (stride === 12) dv.setInt32(i * stride + 4, -0x900000, true); });
    const img = tinyImage({ __start___bug_table: 0x1000, __stop___bug_table: 0x1000 + data.length }, data, text);
    assert.equal(bugSites(img), [0x10004, 0x10014, 0x10028], `stride ${stride}`);
  }
});

const linuxBuilt = existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'));
// Image.patchedText searches the sorted sites; patchedTextSites (a map of every byte) is the definition.
test('Image.patchedText: the answers of patchedTextSites, at every site byte and around each (the bundled Linux)', () => {
  if (!linuxBuilt) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  const img = Image.load(readFileSync(bundledLinuxPath()));
  const m = patchedTextSites(img);
  assert.ok(m.size > 1000, `${m.size} self-patched bytes`);
  const addrs = new Set<number>();
  for (const a of m.keys()) for (let d = -6; d <= 6; d++) addrs.add(a + d);
  for (const a of addrs) if (img.patchedText(a) !== m.get(a)) assert.is(img.patchedText(a), m.get(a), `0x${a.toString(16)}`);
});

test('real Linux 6.1: every table entry is the instruction the kernel patches there, as its config says', () => {
  if (!linuxBuilt) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  const img = Image.load(readFileSync(bundledLinuxPath()));
  const config = readFileSync(join(LINUX_FIXTURE_DIR, 'config'), 'utf8');
  const on = (opt: string) => new RegExp(`^${opt}=y$`, 'm').test(config);
  // jump labels: none without CONFIG_JUMP_LABEL
  assert.is(img.jumpLabelSites.length > 0, on('CONFIG_JUMP_LABEL'));
  // static calls: each a `call` of a static call trampoline (__SCT__*)
  const sc = staticCallSites(img);
  assert.is(sc.length > 0, on('CONFIG_HAVE_STATIC_CALL_INLINE'));
  for (const a of sc) {
    const b = img.read(a, 5)!;
    assert.is(b[0], 0xe8, img.formatAddr(a));
    const target = a + 5 + new DataView(b.buffer, b.byteOffset).getInt32(1, true);
    assert.match(img.lookupAddr(target)!.entry.name, /^__SCT__/);
  }
  // BUG()/WARN(): each a ud2, one per 12-byte entry (CONFIG_DEBUG_BUGVERBOSE)
  assert.ok(on('CONFIG_DEBUG_BUGVERBOSE'));
  const bugs = bugSites(img);
  assert.is(bugs.length, (img.symbolAddr('__stop___bug_table')! - img.symbolAddr('__start___bug_table')!) / 12);
  for (const a of bugs) assert.equal([...img.read(a, 2)!], [0x0f, 0x0b], img.formatAddr(a));
  // SMP lock prefixes: each a 0xf0 in text
  const locks = smpLockSites(img);
  assert.ok(locks.length > 1000);
  for (const a of locks) assert.is(img.read(a, 1)![0], 0xf0, img.formatAddr(a));
  // the byte map: the 5 bytes of each static call, each ud2's first byte, nothing else
  const m = patchedTextSites(img);
  const want = new Set([...sc.flatMap((a) => [0, 1, 2, 3, 4].map((i) => a + i)), ...bugs]);
  assert.is(m.size, want.size);
  for (const a of want) assert.ok(m.has(a));
});

test('a distribution kernel (Debian 6.1, in the cache): jump labels as long as iced decodes them, BUG()s are ud2s, static calls call __SCT__', () => {
  const dir = join(cacheRoot(), 'vmlinux');
  const name = existsSync(dir) ? readdirSync(dir).find((f) => /^vmlinux-[\d.]+-\d+-cloud-amd64$/.test(f)) : undefined;
  if (!name) { console.log(`SKIP distribution-kernel tables: no vmlinux in ${dir} (scripts/real-vmlinux.sh fetches it)`); return; }
  const img = loadImage(join(dir, name));
  const jl = img.jumpLabelSites;
  assert.ok(jl.length > 1000, `${jl.length} jump labels`);
  const d = new Disassembler(img);
  try {
    for (const r of seededSample(jl, 300, 1)) {
      const [first] = d.lines(r.start, r.start + 5);
      assert.is(first.bytes.length, r.end - r.start, `${img.formatAddr(r.start)}: ${first.text}`);
      assert.match(first.text, /^(jmp|nop|xchg)/);
    }
  } finally { d.free(); }
  const bugs = img.bugSites;
  assert.is(bugs.length, (img.symbolAddr('__stop___bug_table')! - img.symbolAddr('__start___bug_table')!) / 12);
  for (const a of seededSample(bugs, 500, 1)) assert.equal([...img.read(a, 2)!], [0x0f, 0x0b], img.formatAddr(a));
  for (const a of seededSample(img.staticCallSites, 300, 1)) {
    const b = img.read(a, 5)!;
    // a call, or a tail call's jmp (STATIC_CALL_SITE_TAIL)
    assert.ok(b[0] === 0xe8 || b[0] === 0xe9, img.formatAddr(a));
    const target = a + 5 + new DataView(b.buffer, b.byteOffset).getInt32(1, true);
    assert.match(img.lookupAddr(target)!.entry.name, /^__SCT__/);
  }
});

test.run();
