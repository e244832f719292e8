// Differential test: ktrace's disassembly of every function against objdump -d (AT&T and Intel).
// Each instruction must print exactly as objdump prints it: address, byte columns (with
// continuation lines), mnemonic, operands, symbolized targets and `# addr <sym>` comments.
// Normalisation: none (the comparison is byte for byte, per instruction).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Disassembler, MOVABS, SHIFT_BY_ONE, renderLine, type Syntax } from '../../src/elf/disasm.js';
import iced from '../../src/emu/iced.js';
import { Image } from '../../src/elf/image.js';
import { ROOT } from '../../src/paths.js';
import { objdumpHex } from '../../src/elf/objdump-symbols.js';
import { fixtureImage, oracle, oracleStale, live, binutilsVersion, oracleMeta, parseObjdump, type ObjdumpListing } from './fixture.js';

function compare(listing: ObjdumpListing, syntax: Syntax, label: string, img: Image = fixtureImage()): number {
  const d = new Disassembler(img, syntax);
  const failures: string[] = [];
  let count = 0;
  const addrs = listing.order.map((a) => BigInt('0x' + a));
  const lowerBound = (v: bigint) => { let lo = 0, hi = addrs.length; while (lo < hi) { const m = (lo + hi) >>> 1; if (addrs[m]! < v) lo = m + 1; else hi = m; } return lo; };
  try {
    for (const f of img.functions) {
      if (f.size === 0) continue;
      const mine = d.lines(f.addr, f.addr + f.size);
      const start = BigInt.asUintN(64, BigInt(f.addr)), end = start + BigInt(f.size);
      const theirs = listing.order.slice(lowerBound(start), lowerBound(end));
      const mineAddrs = mine.map((l) => objdumpHex(l.addr));
      if (mineAddrs.join() !== theirs.join()) {
        failures.push(`${f.name}: instruction boundaries differ: ktrace ${mineAddrs.length}, objdump ${theirs.length}`);
        continue;
      }
      for (const l of mine) {
        count++;
        const want = listing.insns.get(objdumpHex(l.addr))!.lines.join('\n') + '\n';
        const got = renderLine(l);
        if (got !== want && failures.length < 20) failures.push(`${f.name}:\n  objdump: ${JSON.stringify(want)}\n  ktrace:  ${JSON.stringify(got)}`);
      }
    }
  } finally {
    d.free();
  }
  assert.ok(failures.length === 0, `${label}: ${failures.length} differences:\n${failures.join('\n')}`);
  return count;
}

test('every function equals objdump -d, instruction for instruction (committed oracle)', () => {
  const stale = oracleStale();
  if (stale) assert.unreachable(stale);
  const n = compare(parseObjdump(oracle('objdump-d')), 'att', 'AT&T');
  assert.ok(n > 1000, `compared ${n} instructions`);
});

test('every function equals objdump -d -M intel (committed oracle)', () => {
  const stale = oracleStale();
  if (stale) assert.unreachable(stale);
  compare(parseObjdump(oracle('objdump-d-intel')), 'intel', 'Intel');
});

test('live objdump -d, when binutils is installed', () => {
  const text = live('objdump', ['-d']);
  if (text === undefined) { console.log('SKIP live objdump: binutils not installed'); return; }
  if (binutilsVersion() !== oracleMeta().binutils) {
    console.log(`NOTE live objdump is "${binutilsVersion()}", the oracle "${oracleMeta().binutils}": compared against the oracle only`);
    return;
  }
  assert.is(text, oracle('objdump-d'), 'committed oracle equals live objdump output');
  compare(parseObjdump(text), 'att', 'live');
});

test('the movabs and shift-by-one code lists are every iced Code whose name matches', () => {
  const names = Object.entries(iced.Code as unknown as Record<string, number>).filter(([k]) => !/^\d+$/.test(k));
  const named = (re: RegExp) => names.filter(([k]) => re.test(k)).map(([, v]) => v).sort((a, b) => a - b);
  assert.equal([...MOVABS].sort((a, b) => a - b), named(/^Mov_r64_imm64$|^Mov_(AL|AX|EAX|RAX)_moffs|^Mov_moffs/));
  assert.equal([...SHIFT_BY_ONE].sort((a, b) => a - b), named(/^(Rol|Ror|Rcl|Rcr|Shl|Shr|Sal|Sar)_rm\d+_1$/));
});

test('function header lines name the address as objdump does', () => {
  const stale = oracleStale();
  if (stale) assert.unreachable(stale);
  const listing = parseObjdump(oracle('objdump-d'));
  const img = fixtureImage();
  const d = new Disassembler(img);
  try {
    let n = 0;
    for (const f of img.functions) {
      const h = listing.headers.get(objdumpHex(f.addr).padStart(16, '0'));
      if (!h || f.size === 0) continue;
      assert.is(d.render(f.addr, f.addr + f.size).split('\n')[0], `${objdumpHex(f.addr).padStart(16, '0')} ${h}:`);
      n++;
    }
    assert.ok(n > 100);
  } finally {
    d.free();
  }
});

test('kernel instruction forms (test/elf/kernel-insns.S) equal objdump -d, AT&T and Intel, when binutils is installed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ktrace-insns-'));
  const src = join(ROOT, 'test', 'elf', 'kernel-insns.S');
  try {
    execFileSync('as', ['--64', '-o', join(dir, 'k.o'), src], { stdio: 'ignore' });
    execFileSync('ld', ['-Ttext=0xffffffff81000000', '-e', 'f', '-o', join(dir, 'k'), join(dir, 'k.o')], { stdio: 'ignore' });
  } catch {
    console.log('SKIP kernel instruction forms: binutils (as, ld) not installed');
    return;
  }
  const img = Image.load(new Uint8Array(readFileSync(join(dir, 'k'))));
  for (const [syntax, args] of [['att', ['-d']], ['intel', ['-d', '-M', 'intel']]] as const) {
    const text = execFileSync('objdump', [...args, join(dir, 'k')]).toString();
    assert.ok(compare(parseObjdump(text), syntax, `kernel-insns ${syntax}`, img) > 100);
  }
});

test('KTRACE_LONG: a gcc -static C program (all of glibc: SSE, AVX, x87, string ops) equals objdump -d, AT&T and Intel', () => {
  if (process.env.KTRACE_LONG !== '1') { console.log('SKIP static-binary objdump sweep: runs with KTRACE_LONG=1'); return; }
  const dir = mkdtempSync(join(tmpdir(), 'ktrace-disasm-'));
  writeFileSync(join(dir, 'h.c'), 'int main(void) { return 0; }\n');
  try {
    execFileSync('gcc', ['-static', '-O2', '-o', join(dir, 'h'), join(dir, 'h.c')], { stdio: 'ignore' });
  } catch {
    console.log('SKIP static-binary objdump sweep: gcc -static (with libc.a) not available');
    return;
  }
  const img = Image.load(new Uint8Array(readFileSync(join(dir, 'h'))));
  for (const [syntax, args] of [['att', ['-d']], ['intel', ['-d', '-M', 'intel']]] as const) {
    const text = execFileSync('objdump', [...args, join(dir, 'h')], { maxBuffer: 1 << 30 }).toString();
    const n = compare(parseObjdump(text), syntax, `static ${syntax}`, img);
    assert.ok(n > 50000, `${n} instructions`);
  }
});

test.run();
