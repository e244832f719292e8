// Coverage of the semantic table: every instruction form in the fixture kernel's functions is
// implemented, and every form the table claims generates valid JS.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Code, Decoder, DecoderOptions, Instruction } from 'iced-x86';
import { Machine } from '../../src/emu/machine.js';
import { loadSegments, readLoadSegments } from '../../src/emu/loader.js';
import { isImplementedMnemonic, unsupportedReason } from '../../src/emu/semantics.js';
import { toAddr } from '../../src/base/addr.js';
import { ROOT } from '../../src/paths.js';
import { elfSymbolList } from './elfsyms.js';

const VMLINUX = join(ROOT, 'fixtures', 'vmlinux');

test('every instruction form gcc emitted into the fixture kernel is implemented', () => {
  if (!existsSync(VMLINUX)) { console.log('SKIP fixture coverage: fixtures/vmlinux is missing'); return; }
  const file = new Uint8Array(readFileSync(VMLINUX));
  const m = new Machine({ cpus: 1 });
  loadSegments(m.mem, readLoadSegments(file).segments, file);
  m.mem.cur = m.cpus[0];
  const insn = new Instruction();
  const missing = new Map<string, string>();
  const forms = new Set<number>();
  let count = 0;
  for (const s of elfSymbolList(file)) {
    if (!s.func || s.size === 0) continue;
    const start = toAddr(s.value);
    const bytes = m.mem.readBytes(start, s.size);
    const d = new Decoder(64, bytes, DecoderOptions.None);
    d.ip = s.value;
    try {
      while (d.canDecode) {
        d.decodeOut(insn);
        const ip = toAddr(insn.ip);
        m.decoder.decodeRun(m.mem.translate(ip, 2), ip, () => true);
        const op = m.decoder.run[0];
        m.decoder.endRun();
        count++;
        forms.add(op.code);
        const why = op.bad ? 'undecodable' : unsupportedReason(op);
        if (why && !missing.has(Code[op.code])) missing.set(Code[op.code], `${s.name}+0x${(ip - start).toString(16)}: ${why}`);
      }
    } finally { d.free(); }
  }
  insn.free();
  console.log(`NOTE fixture kernel: ${count} instructions, ${forms.size} distinct forms, all implemented: ${missing.size === 0}`);
  assert.equal([...missing], []);
  assert.ok(count > 1000);
});

test('forms covered: every 64-bit legacy-encoded form whose mnemonic has a semantic, counted from iced', () => {
  let n = 0, total = 0;
  const i = new Instruction();
  for (let code = 1; code < 5000; code++) {
    if (Code[code] === undefined) continue;
    i.code = code;
    const oc = i.opCode;
    const ok = oc.mode64 && oc.encoding === 0 && !/^(F|Cvt|Mov(aps|ups|apd|upd|q|d)_|P[a-z]|V)/.test(Code[code]);
    oc.free();
    if (!ok) continue;
    total++;
    if (isImplementedMnemonic(i.mnemonic)) n++;
  }
  i.free();
  console.log(`NOTE semantic table: ${n} of ${total} non-x87/non-SIMD 64-bit legacy forms have a semantic`);
  assert.ok(n > 500);
});

test.run();
