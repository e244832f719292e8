// Fuzzing the ELF loader on a real kernel's unit (test/elf/real: fs/read_write.c out of Debian's 6.1
// vmlinux, with its code, symbols and DWARF 5): seeded mutations of the whole file, aimed half the time at
// the headers and tables the loader parses, then what the CLI asks of an image (the kallsyms text, symbol
// lookups, the kprobe blacklist, section lookups, disassembly). Each case ends in a result or a one-line
// ElfError, writes nothing, and finishes within a time bound (run in a worker: test/fuzz.ts).
// 2,000 cases by default, 100,000 with KTRACE_LONG=1 (the same cases, more of them).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Image } from '../../src/elf/image.js';
import { ElfError } from '../../src/elf/errors.js';
import { kprobeBlacklist } from '../../src/elf/kernel-sections.js';
import { fuzz, isMainThread, mutateBytes, byteRng, serveFuzz, type FuzzTarget } from '../fuzz.js';
import { realUnitBytes, REAL_UNIT_META } from './real/unit.js';

const CASES = process.env.KTRACE_LONG === '1' ? 100_000 : 2_000;

function target(disasm: typeof import('../../src/elf/disasm.js')): FuzzTarget {
  const base = realUnitBytes();
  const dv = new DataView(base.buffer, base.byteOffset, base.byteLength);
  const shoff = Number(dv.getBigUint64(0x28, true)), shnum = dv.getUint16(0x3c, true);
  const img = Image.load(base);
  const sym = img.sectionByName('.symtab')!, str = img.sectionByName('.strtab')!, shstr = img.sectionByName('.shstrtab')!;
  // Where the loader's decisions are: the ELF header, program headers, section headers, symbols, names.
  const hot = [[0, 64], [64, 56 * 2], [shoff, 64 * shnum], [sym.offset, sym.size], [str.offset, str.size], [shstr.offset, shstr.size]] as const;
  return {
    run(i) {
      const rand = byteRng(0x51ed270b ^ Math.imul(i, 2654435761));
      const img = Image.load(mutateBytes(base, rand, hot));
      let work = img.kallsyms.text().length + img.sections.length + img.segments.length;
      for (const f of img.functions.slice(0, 40)) {
        work += img.formatAddr(f.addr + 1).length;
        if (img.functionAt(f.addr)) work++;
        if (img.sectionAt(f.addr)) work++;
        if (img.lookupName(f.name) !== undefined) work++;
      }
      work += kprobeBlacklist(img).length;
      // Disassembly (iced-x86) of a function's first bytes, every 8th case.
      if (i % 8 === 0 && img.functions.length) {
        const f = img.functions[i % img.functions.length]!;
        const d = new disasm.Disassembler(img);
        try { work += d.lines(f.addr, f.addr + Math.min(Math.max(f.size, 1), 256)).length; } finally { d.free(); }
      }
      if (work < 0) throw new Error('unreachable');
    },
    expected: (e) => e instanceof ElfError,
  };
}

if (isMainThread) {
  test(`${CASES} mutations of ${REAL_UNIT_META.unit} (${REAL_UNIT_META.from}): a result or a one-line ElfError, no output, no hang`, async () => {
    const r = await fuzz(import.meta.url, CASES, 10_000);
    console.log(`NOTE elf fuzz: ${r.cases} cases, ${r.results} loaded, ${r.errors} ElfError, ${r.hangs.length} hangs, ${r.failures.length} failures, ${(r.ms / 1000).toFixed(1)} s`);
    assert.equal([...r.hangs, ...r.failures].slice(0, 20), [], `${r.hangs.length} hangs, ${r.failures.length} failures`);
    assert.ok(r.results > 0 && r.errors > 0, 'the mutations reach both outcomes');
  });

  test('the unmutated unit loads: its functions, symbols and code', () => {
    const img = Image.load(realUnitBytes());
    assert.ok(img.functions.some((f) => f.name === 'vfs_read'));
    assert.ok(img.functionAt(img.symbolAddr('vfs_read')! + 5)?.name === 'vfs_read');
  });

  test.run();
} else {
  // Loaded before the cases run: iced's WASM start-up is no case's time.
  const disasm = await import('../../src/elf/disasm.js');
  serveFuzz(() => target(disasm));
}
