import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kallsyms } from '../../src/elf/kallsyms.js';
import type { Sym } from '../../src/elf/symbols.js';
import { toAddr } from '../../src/base/addr.js';
import { fixtureImage, oracle, oracleStale, parseNm } from './fixture.js';

let idx = 1;
function sym(name: string, value: bigint, nmType = 'T', size = 0): Sym {
  return { index: idx++, name, addr: toAddr(value), value, size, type: 'FUNC', bind: nmType === nmType.toUpperCase() ? 'GLOBAL' : 'LOCAL', shndx: 1, nmType };
}
const T = 0xffffffff81000000n;

test('order at one address follows scripts/kallsyms.c compare_symbols: strong, not linker-provided, fewer underscores', () => {
  const ks = new Kallsyms([
    sym('__start_foo', T), sym('weakling', T, 'W'), sym('__x', T), sym('_y', T), sym('plain', T), sym('after', T + 0x10n),
  ], toAddr(T + 0x100n));
  assert.equal(ks.entries.map((e) => e.name), ['plain', '_y', '__x', '__start_foo', 'weakling', 'after']);
});

test('ignored symbols: undefined, absolute, debugging, local labels', () => {
  const ks = new Kallsyms([sym('u', 0n, 'U'), sym('abs', 5n, 'A'), sym('.Lfoo', T, 't'), sym('$x', T, 't'), sym('__crc_foo', T, 'A'), sym('keep', T)], toAddr(T + 1n));
  assert.equal(ks.entries.map((e) => e.name), ['keep']);
});

test('%pS: first alias at the closest lower address, size to the next symbol, raw address outside', () => {
  const ks = new Kallsyms([sym('a', T), sym('b', T + 0x40n), sym('b_alias', T + 0x40n), sym('c', T + 0x100n)], toAddr(T + 0x180n));
  assert.is(ks.format(toAddr(T + 0x41n)), 'b+0x1/0xc0');
  assert.is(ks.format(toAddr(T)), 'a+0x0/0x40');
  assert.is(ks.format(toAddr(T + 0x17fn)), 'c+0x7f/0x80');
  assert.is(ks.format(toAddr(T + 0x180n)), '0xffffffff81000180');
  assert.is(ks.format(toAddr(T - 1n)), '0xffffffff80ffffff');
  assert.is(ks.lookupName('b_alias')!.addr, toAddr(T + 0x40n));
  // user addresses sort below kernel ones, as unsigned values do
  const mixed = new Kallsyms([sym('user', 0x1000n), sym('kern', T)], toAddr(T + 0x10n));
  assert.equal(mixed.entries.map((e) => e.name), ['user', 'kern']);
  assert.is(mixed.format(0x1004), 'user+0x4/0x' + (T - 0x1000n).toString(16));
});

test('lookupName returns the first of duplicate (local) names in kallsyms order', () => {
  const ks = new Kallsyms([sym('dup', T + 0x20n, 't'), sym('dup', T + 0x10n, 't'), sym('z', T + 0x30n)], toAddr(T + 0x40n));
  assert.is(ks.lookupName('dup')!.addr, toAddr(T + 0x10n));
});

test('fixture /proc/kallsyms: every line is an nm line, sorted by address, with all text symbols', () => {
  const stale = oracleStale();
  if (stale) assert.unreachable(stale);
  const nm = new Set(parseNm(oracle('nm-n')).filter((l) => l.value !== undefined).map((l) => `${l.value!.toString(16).padStart(16, '0')} ${l.type} ${l.name}`));
  const lines = fixtureImage().kallsyms.text().trimEnd().split('\n');
  assert.ok(lines.length > 100);
  let prev = -1n;
  for (const l of lines) {
    assert.ok(nm.has(l), `from nm: ${l}`);
    const v = BigInt('0x' + l.slice(0, 16));
    assert.ok(v >= prev, `sorted: ${l}`);
    prev = v;
  }
  const names = new Set(lines.map((l) => l.slice(19)));
  for (const f of fixtureImage().functions) if (!f.name.startsWith('.L')) assert.ok(names.has(f.name), `function ${f.name} listed`);
});

test('fixture %pS of every function start and interior', () => {
  const img = fixtureImage();
  for (const f of img.functions) {
    if (f.size < 2) continue;
    const at = img.lookupAddr(f.addr + 1)!;
    assert.ok(at, f.name);
    assert.is(at.entry.addr, f.addr, `${f.name}: symbol at its own address`);
    assert.is(at.offset, 1);
    // The kernel's size runs to the next symbol: at least st_size unless a symbol lies inside the function.
    const inner = img.kallsyms.entries.find((e) => e.addr > f.addr && e.addr < f.addr + f.size);
    assert.is(at.size >= f.size || inner !== undefined, true, `${f.name}: kallsyms size ${at.size} vs st_size ${f.size}`);
    if (inner) assert.ok(at.size <= inner.addr - f.addr);
    assert.is(img.formatAddr(f.addr + 1), `${at.entry.name}+0x1/0x${at.size.toString(16)}`);
  }
});

test.run();
