// The persistent symbol index (src/cli/symbol-index.ts): an image given the index's orders answers every
// symbol question (perf's --funcs list, names, functions by address, objdump's labels) exactly as the
// image that decodes all of .symtab; the payload round-trips and a payload of another image, a truncated
// or a garbage one is refused. On the real vmlinux (when present) funcs and disasm agree with and without it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FIXTURE } from '../elf/fixture.js';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ktrace, MAIN, tempDir } from './run.js';
import { Image } from '../../src/elf/image.js';
import { FileSource } from '../../src/elf/source.js';
import { buildSymbolOrders, decodeKprobeTables, decodeSymbolOrders, encodeKprobeTables, encodeSymbolOrders } from '../../src/cli/symbol-index.js';
import { perfFunctionList } from '../../src/trace/perf-probe/funcs.js';
import { Disassembler } from '../../src/elf/disasm.js';
import { realVmlinux } from '../../bench/sections/real.js';
import { bundledLinuxPath, LINUX_FIXTURE_DIR } from '../../src/kernel/linux/bundle.js';

const full = Image.load(new FileSource(FIXTURE));
const orders = buildSymbolOrders(full);
const indexed = () => { const i = Image.load(new FileSource(FIXTURE)); i.useSymbolOrders(decodeSymbolOrders(i, encodeSymbolOrders(i, orders))!); return i; };

test('orders round-trip and are used without decoding every symbol', () => {
  const img = indexed();
  assert.ok(img.symbolOrders);
  assert.equal(Array.from(img.symbolOrders!.perf), Array.from(orders.perf));
  assert.equal(img.symbolOrders!.perfNames!(), Array.from(orders.perf, (i) => full.symbols[i]!.name));
  img.symbol('vfs_read');
  assert.not.ok(img.symbolsLoaded, 'a name lookup decodes only the symbols of that name');
});

test("kallsyms' addresses come from the index: every lookup and name agree with the full table", () => {
  const img = indexed();
  assert.ok(img.symbolOrders!.kallsymsKeys, 'the index keeps the keys');
  const ks = img.kallsyms, fk = full.kallsyms;
  for (const e of fk.entries) {
    for (const a of [e.addr, e.addr + 1, e.addr - 1]) assert.is(ks.format(a), fk.format(a), `0x${a.toString(16)}`);
  }
  assert.is(ks.text(), fk.text());
  // orders without the keys read each entry's address instead
  const bare = Image.load(new FileSource(FIXTURE));
  const payload = encodeSymbolOrders(bare, { ...orders, kallsymsKeys: undefined });
  const o = decodeSymbolOrders(bare, payload)!;
  assert.is(o.kallsymsKeys, undefined);
  bare.useSymbolOrders(o);
  for (const e of fk.entries) assert.is(bare.kallsyms.format(e.addr + 1), fk.format(e.addr + 1));
});

/** The tables of `full` through their payload into a fresh image of `load()`: what the checks answer is the same. */
function kprobeTablesRoundTrip(full: Image, load: () => Image): void {
  const t = full.kprobeTables;
  const bytes = encodeKprobeTables(full, t);
  const img = load();
  const back = decodeKprobeTables(img, bytes)!;
  assert.ok(back, 'read back');
  assert.equal(back.blacklist, t.blacklist);
  assert.equal(back.mcount, t.mcount);
  assert.equal([...back.patched], [...t.patched]);
  assert.equal(back.smpLocks, t.smpLocks);
  img.useKprobeTables(back);
  assert.equal([...img.smpLockSites], [...full.smpLockSites]);
  const at = [...t.blacklist.flatMap((e) => [e.start - 1, e.start, e.end - 1, e.end]), ...[...t.patched.keys()].flatMap((a) => [a - 1, a, a + 1]), ...t.mcount];
  for (const a of at) {
    if (img.inKprobeBlacklist(a) !== full.inKprobeBlacklist(a) || img.patchedText(a) !== full.patchedText(a)) assert.unreachable(`0x${a.toString(16)}`);
  }
  assert.is(img.mcountSites, back.mcount);
  assert.is(decodeKprobeTables(img, bytes.subarray(0, bytes.length - 1)), undefined, 'truncated');
}

test("the kprobe checks' tables round-trip: blacklist, mcount sites and patched text as the image reads them", () => {
  assert.ok(full.kprobeTables.blacklist.length > 0 && full.kprobeTables.mcount.length > 0, 'the fixture has a blacklist and mcount sites');
  kprobeTablesRoundTrip(full, () => Image.load(new FileSource(FIXTURE)));
  const changed = Buffer.from(readFileSync(FIXTURE));
  changed[full.sectionByName('__mcount_loc')!.offset] ^= 0x01;
  assert.is(decodeKprobeTables(Image.load(new Uint8Array(changed)), encodeKprobeTables(full, full.kprobeTables)), undefined, 'another image');
  // real Linux's (jump labels, static calls, BUG() sites: text it patches itself), when it is built
  if (!existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'))) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  const linux = Image.load(new FileSource(bundledLinuxPath()));
  assert.ok(linux.kprobeTables.patched.size > 0);
  kprobeTablesRoundTrip(linux, () => Image.load(new FileSource(bundledLinuxPath())));
});

test('perf --funcs, names and functions by address agree with the full table', () => {
  const img = indexed();
  assert.equal(perfFunctionList(img, () => true).map((s) => s.index), perfFunctionList(full, () => true).map((s) => s.index));
  const names = [...new Set(full.symbols.map((s) => s.name))].filter((n) => n !== '');
  for (const n of [...names, 'no_such_symbol', '']) {
    assert.is(img.symbol(n)?.index, full.symbol(n)?.index, n);
    assert.is(img.functionNamed(n)?.index, full.functionNamed(n)?.index, n);
    assert.is(img.kallsyms.count(n), full.kallsyms.count(n), `kallsyms count ${n}`);
    assert.is(img.kallsyms.lookupName(n)?.sym.index, full.kallsyms.lookupName(n)?.sym.index, `kallsyms lookup ${n}`);
  }
  for (const f of full.functions) {
    for (const a of [f.addr, f.addr + 1, f.addr + Math.max(f.size, 1) - 1, f.addr + f.size, f.addr - 1]) {
      assert.is(img.functionAt(a)?.index, full.functionAt(a)?.index, `0x${a.toString(16)}`);
    }
  }
  assert.not.ok(img.symbolsLoaded);
});

test("objdump's labels agree with the full table", () => {
  const img = indexed();
  const a = new Disassembler(img), b = new Disassembler(full);
  try {
    const fns = full.functions.filter((f) => f.size > 0);
    for (const f of fns.filter((_, i) => i % Math.max(1, Math.floor(fns.length / 40)) === 0)) {
      assert.is(a.render(f.addr, f.addr + f.size), b.render(f.addr, f.addr + f.size), f.name);
    }
  } finally {
    a.free(); b.free();
  }
  assert.not.ok(img.symbolsLoaded);
});

test('a payload of another image, truncated or garbage is refused', () => {
  const bytes = encodeSymbolOrders(full, orders);
  const img = Image.load(new FileSource(FIXTURE));
  assert.ok(decodeSymbolOrders(img, bytes));
  assert.is(decodeSymbolOrders(img, bytes.subarray(0, bytes.length - 4)), undefined, 'truncated');
  assert.is(decodeSymbolOrders(img, Buffer.from('garbage garbage garbage garbage garbage garbage garbage')), undefined);
  // A list that fails its CRC-32 or its ends (read when first used): computed from the symbols instead,
  // the same answers, and the caller told (it removes the entry). The other lists are read as they are.
  const namesLen = bytes.readUInt32LE(16 + 4 * 5); // after the 5 list lengths
  const keysLen = 8 * orders.kallsyms.length; // kallsyms' keys, after the names
  const lastOfKallsyms = bytes.length - keysLen - namesLen - 4;
  for (const [what, edit] of [['index outside .symtab', (b: Buffer) => b.writeUInt32LE(img.symbolCount + 5, lastOfKallsyms)],
    ['a flipped bit (CRC-32)', (b: Buffer) => { b[lastOfKallsyms - 8]! ^= 1; }]] as const) {
    const bad = Buffer.from(bytes);
    edit(bad);
    let told = 0;
    const fresh = Image.load(new FileSource(FIXTURE));
    const o = decodeSymbolOrders(fresh, bad, () => told++);
    assert.ok(o, what);
    assert.equal(Array.from(o!.perf), Array.from(orders.perf), `${what}: an intact list as written`);
    assert.is(told, 0, `${what}: the intact list tells nothing`);
    assert.equal(Array.from(o!.kallsyms), Array.from(orders.kallsyms), `${what}: the bad list computed`);
    assert.is(told, 1, `${what}: and the caller told`);
  }
  // kallsyms' keys that fail their CRC-32: computed from the symbols, the caller told
  const badKeys = Buffer.from(bytes);
  badKeys[badKeys.length - 3]! ^= 1;
  let toldKeys = 0;
  const k = decodeSymbolOrders(Image.load(new FileSource(FIXTURE)), badKeys, () => toldKeys++)!;
  assert.equal(Array.from(k.kallsymsKeys!), Array.from(orders.kallsymsKeys!), 'bad keys computed');
  assert.is(toldKeys, 1, 'bad keys: the caller told');
  const mem = Image.load(new Uint8Array(readFileSync(FIXTURE)));
  const changed = Buffer.from(readFileSync(FIXTURE));
  const strtab = mem.sectionByName('.strtab')!;
  changed[strtab.offset + strtab.size - 2] ^= 0x20; // one letter of the last name
  assert.is(decodeSymbolOrders(Image.load(new Uint8Array(changed)), bytes), undefined, 'an edited .strtab');
});

/** ktrace with the image given here (-k), not the fixture. */
const ktraceOn = (args: string[], env: Record<string, string> = {}) => ktrace(args, env, true);

test('real vmlinux: every cached index (symbols, debug info, files, static texts) gives the answers of none; garbage, an unwritable cache and a truncated copy', () => {
  const real = realVmlinux();
  if (!real) { console.log('SKIP symbol-index real vmlinux: not in the cache (scripts/real-vmlinux.sh fetches it)'); return; }
  // The default run: one query per index; KTRACE_LONG=1 all of them.
  const all = [['funcs', '--json', 'vfs_*'], ['disasm', 'vfs_read'], ['vars', 'fs/read_write.c:470'], ['funcs'], ['disasm', 'ksys_read+0x10'],
    ['vars', 'vfs_read'], ['fs', 'cat', '/sys/kernel/debug/kprobes/blacklist'], ['why', 'vfs_read'], ['funcs', 'vfs_*']];
  // (funcs' names come from their own entry: .funcs-1.)
  const queries = process.env.KTRACE_LONG ? all : [...all.slice(0, 3), all[all.length - 1]!];
  const reference = queries.map((q) => ktraceOn(['-k', real, ...q], { KTRACE_NO_CACHE: '1' }));
  for (const [i, r] of reference.entries()) assert.is(r.code, 0, `${queries[i]!.join(' ')}: ${r.stderr}`);
  const same = (env: Record<string, string>, what: string) => queries.forEach((q, i) => {
    const r = ktraceOn(['-k', real, ...q], env);
    assert.is(r.stdout, reference[i]!.stdout, `${what}: ${q.join(' ')}`);
    assert.is(r.code, 0, `${what}: ${q.join(' ')}: ${r.stderr}`);
  });
  const cache = tempDir();
  const env = { XDG_CACHE_HOME: cache, KTRACE_INDEX_BACKGROUND: '0' };
  const build = spawnSync(process.execPath, [join(dirname(MAIN), 'index-build.js'), real], { env: { ...process.env, ...env } });
  assert.is(build.status, 0);
  const dir = join(cache, 'ktrace', 'index');
  const entries = readdirSync(dir).filter((n) => /^bid-.*\.(syms|dwarf|files)-\d+$/.test(n));
  assert.equal(entries.map((n) => n.slice(n.lastIndexOf('.')).replace(/-\d+$/, '')).sort(), ['.dwarf', '.files', '.syms']);
  same(env, 'indexes built');
  same(env, 'static texts cached');
  // Garbage in every entry (and a payload cut short): read as absent, never trusted.
  for (const n of readdirSync(dir).filter((x) => x.startsWith('bid-'))) writeFileSync(join(dir, n), n.includes('.syms-') ? readFileSync(join(dir, n)).subarray(0, 999) : 'garbage');
  same(env, 'garbage entries');
  // An unwritable cache folder (a file where the folder should be).
  const file = join(tempDir(), 'not-a-dir');
  writeFileSync(file, 'x');
  same({ XDG_CACHE_HOME: file }, 'unwritable cache');
  // A truncated copy (its section headers are past the cut): one line, exit 1.
  const cut = join(tempDir(), 'vmlinux-cut');
  const fd = openSync(real, 'r'), head = Buffer.alloc(16 << 20);
  readSync(fd, head, 0, head.length, 0); closeSync(fd);
  writeFileSync(cut, head);
  for (const q of queries.slice(0, 6)) {
    const r = ktraceOn(['-k', cut, ...q], env);
    assert.is(r.code, 1, `${q.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^ktrace: .*(truncated|outside the file)[^\n]*\n$/, q.join(' '));
  }
});

test.run();
