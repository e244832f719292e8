// The probe overhead account (src/kprobe/overhead.ts and its use in kprobes.ts): each trap a probe
// takes costs the kernel's exception round trip, walked on the image's own IDT stubs (checked against
// the objdump-identical disassembly of the same stubs); per hit, the mechanisms then rank as the
// kernel document's table does: o < b < k and ro < rb < r, while the kernel's own instructions and
// results stay the unprobed run's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Image } from '../../src/elf/image.js';
import { Disassembler } from '../../src/elf/disasm.js';
import { DEFAULT_VMLINUX } from '../../src/paths.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { runScript, type RunResult } from '../../src/kernel/session.js';
import { trapRoundTrip } from '../../src/kprobe/overhead.js';
import { KprobeManager, KretprobeManager, Optimizer } from '../../src/kprobe/index.js';

const image = Image.load(readFileSync(DEFAULT_VMLINUX));
const CALLS = 20;
const script = Array.from({ length: CALLS }, (_, i) => `v = ktrace_selftest 0 ${1000 + i}\n`).join('');

/** The kernel-mode path of a stub, read off the disassembly text: to `je` after the CS test, jmp, iretq. */
function textWalk(stub: string): number {
  const d = new Disassembler(image);
  try {
    let addr = image.lookupName(stub)!, n = 0, csTest = false;
    for (let i = 0; i < 200; i++) {
      const l = d.lines(addr, addr + 16)[0];
      n++;
      const t = l.text.trim();
      if (t.startsWith('iretq')) return n;
      const to = /^(jmp|je)\s+([0-9a-f]+)/.exec(t);
      if (to && (to[1] === 'jmp' || csTest)) addr = Number(BigInt.asIntN(64, BigInt('0x' + to[2])));
      else addr = l.addr + l.bytes.length;
      csTest = /^testb\s+\$0x3,0x88\(%rsp\)/.test(t);
    }
    return -1;
  } finally { d.free(); }
}

test('a trap costs the image\'s own exception round trip (int3 and #DB stubs), as the disassembly walks it', () => {
  for (const stub of ['asm_exc_int3', 'asm_exc_debug']) {
    const n = trapRoundTrip(image, stub);
    assert.ok(n > 20, `${stub}: ${n}`);
    assert.is(n, textWalk(stub), stub);
  }
  assert.is(trapRoundTrip(image, 'no_such_stub'), 0);
});

type Mode = 'k' | 'b' | 'o' | 'r' | 'rb' | 'ro';
function run(mode: Mode | 'none'): RunResult {
  return runScript(image, parseWorkload('t.wl', script), {
    cpus: 1, seed: 1, maxInsns: 100_000_000, snapshot: false,
    attach: (pl) => {
      if (mode === 'none') return;
      const mgr = KprobeManager.attach(pl);
      const krp = KretprobeManager.attach(pl, mgr);
      // o and ro: jump-optimized without ftrace (the entry's 5-byte nop is a one-instruction region)
      const opt = mode === 'o' || mode === 'ro' ? Optimizer.attach(pl, mgr, { ftrace: false }) : undefined;
      const at = (offset: number) => ({ symbolName: 'kprobe_target', offset });
      if (mode === 'k') assert.is(mgr.registerKprobe({ ...at(7), preHandler: () => 0, postHandler: () => {} }), 0);
      if (mode === 'b' || mode === 'o') assert.is(mgr.registerKprobe({ ...at(7), preHandler: () => 0 }), 0);
      if (mode === 'r' || mode === 'rb' || mode === 'ro') assert.is(krp.registerKretprobe({ kp: at(0), handler: () => 0 }), 0);
      if (mode === 'r') assert.is(mgr.registerKprobe({ ...at(0), postHandler: () => {} }), 0); // nothing boosts the entry
      if (opt) { opt.runWorker(true); assert.ok([...mgr.table.values()].every((pp) => pp.optimized), `${mode}: optimized`); }
    },
  });
}

test('overhead per hit ranks o < b < k and ro < rb < r; the kernel runs exactly as unprobed', () => {
  const plain = run('none');
  const per: Record<string, number> = {};
  for (const m of ['k', 'b', 'o', 'r', 'rb', 'ro'] as Mode[]) {
    const r = run(m);
    assert.is(r.instructions, plain.instructions, m);
    assert.equal(r.syscalls, plain.syscalls, m);
    per[m] = (r.probeInstructions - plain.probeInstructions) / CALLS;
  }
  const int3 = trapRoundTrip(image, 'asm_exc_int3'), db = trapRoundTrip(image, 'asm_exc_debug');
  assert.ok(per.o < per.b && per.b < per.k, JSON.stringify(per));
  assert.ok(per.ro < per.rb && per.rb < per.r, JSON.stringify(per));
  // the traps are the difference: k takes int3 and #DB, b only int3, o none
  assert.ok(per.k >= int3 + db && per.b >= int3 && per.b < int3 + db && per.o < int3, JSON.stringify(per));
});

test.run();
