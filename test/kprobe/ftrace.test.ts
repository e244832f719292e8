// Ftrace-based kprobes on __mcount_loc sites: the nop becomes a call to the trampoline, the list shows
// [FTRACE], handlers see ip as after an int3 (pre) and past the nop (post), a pre_handler may change
// the path, an offset inside the nop is refused with -EILSEQ, and disarming puts the nop back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Decoder, DecoderOptions, Mnemonic } from 'iced-x86';
import { Image } from '../../src/elf/image.js';
import { DEFAULT_VMLINUX } from '../../src/paths.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { runScript, type RunResult } from '../../src/kernel/session.js';
import { KprobeManager, renderKprobeList, type Kprobe } from '../../src/kprobe/index.js';
import { Optimizer } from '../../src/kprobe/optimizer.js';
import { MCOUNT_INSN_SIZE } from '../../src/kprobe/ftrace.js';

const image = Image.load(readFileSync(DEFAULT_VMLINUX));
const kt = image.lookupName('kprobe_target')!;
const EILSEQ = -84;

function run(src: string, attach: (mgr: KprobeManager, opt: Optimizer) => void): { r: RunResult; mgr: KprobeManager; opt: Optimizer } {
  let mgr!: KprobeManager, opt!: Optimizer;
  const r = runScript(image, parseWorkload('t.wl', src), {
    cpus: 1, seed: 1, maxInsns: 1e8,
    attach: (pl) => { mgr = KprobeManager.attach(pl); opt = Optimizer.attach(pl, mgr); attach(mgr, opt); },
  });
  return { r, mgr, opt };
}

test('the fixture\'s traced functions start with the 5-byte nop listed in __mcount_loc', () => {
  assert.ok(image.mcountSites.includes(kt));
  assert.equal([...image.read(kt, 5)!], [0x0f, 0x1f, 0x44, 0x00, 0x00]);
});

test('a kprobe on an mcount site is an ftrace probe: call to the trampoline, [FTRACE], handlers as the kernel calls them', () => {
  const seen: string[] = [];
  const kp: Kprobe = {
    symbolName: 'kprobe_target',
    preHandler: (_p, regs) => { seen.push(`pre ${regs.ip - kt} ${regs.di}`); return 0; },
    postHandler: (_p, regs) => { seen.push(`post ${regs.ip - kt}`); },
  };
  let text: number[] = [];
  const { r, mgr, opt } = run('v = ktrace_selftest 0 300\nv = ktrace_selftest 0 600\n', (m, o) => {
    assert.is(m.registerKprobe(kp), 0);
    text = [...m.machine.mem.readBytes(kt, 5)];
    const d = new Decoder(64, Uint8Array.from(text), DecoderOptions.None);
    d.ip = BigInt.asUintN(64, BigInt(kt));
    const i = d.decode(); d.free();
    assert.is(i.mnemonic, Mnemonic.Call);
    assert.is(Number(BigInt.asIntN(64, i.nearBranchTarget)), o.ftrace!.trampoline);
  });
  assert.equal(r.syscalls.ktrace_selftest.results, { 100: 1, 200: 1 }, 'the function ran as unprobed');
  assert.equal(seen, ['pre 1 300', `post ${MCOUNT_INSN_SIZE}`, 'pre 1 600', `post ${MCOUNT_INSN_SIZE}`]);
  assert.is(mgr.probePointOf(kp)!.ftrace, true);
  assert.is(mgr.probePointOf(kp)!.optimized, false);
  assert.match(renderKprobeList(mgr), /kprobe_target\+0x0 {2}\s*\[FTRACE\]\n$/);
  assert.is(opt.stateOf(kt), 'idle', 'never jump-optimized');
  assert.is(r.probeInstructions > 0, true);
  // disable: the nop is back; the list keeps [FTRACE]
  assert.is(mgr.disableKprobe(kp), 0);
  assert.equal([...mgr.machine.mem.readBytes(kt, 5)], [0x0f, 0x1f, 0x44, 0x00, 0x00]);
  assert.match(renderKprobeList(mgr), /\[DISABLED\]\[FTRACE\]\n$/);
  assert.is(mgr.enableKprobe(kp), 0);
  assert.equal([...mgr.machine.mem.readBytes(kt, 5)], text);
  assert.is(mgr.unregisterKprobe(kp), 0);
  assert.equal([...mgr.machine.mem.readBytes(kt, 5)], [0x0f, 0x1f, 0x44, 0x00, 0x00]);
});

test('an offset inside the mcount nop is refused with -EILSEQ, as the kernel does', () => {
  run('', (m) => {
    for (let off = 1; off < MCOUNT_INSN_SIZE; off++) {
      assert.is(m.registerKprobe({ symbolName: 'kprobe_target', offset: off }), EILSEQ, `+${off}`);
      assert.match(m.lastError.reason, /not on an instruction boundary/);
    }
    // with the site armed, a probe right after the nop still sees the original instructions
    assert.is(m.registerKprobe({ symbolName: 'kprobe_target' }), 0);
    assert.is(m.registerKprobe({ symbolName: 'kprobe_target', offset: 3 }), EILSEQ);
    assert.is(m.registerKprobe({ symbolName: 'kprobe_target', offset: MCOUNT_INSN_SIZE }), 0);
  });
});

test('an ftrace probe\'s pre_handler may change the path (regs.ip is honoured)', () => {
  const { r } = run('v = ktrace_selftest 0 300\n', (m) => {
    m.registerKprobe({ symbolName: 'kprobe_target', preHandler: (_p, regs) => { regs.ip = kt + 0x19; regs.ax = 7n; return 1; } });
  });
  assert.equal(r.syscalls.ktrace_selftest.results, { 7: 1 }, 'resumed at the ret with ax = 7');
});

test('transparency: probes on every mcount site leave the default workload as unprobed', () => {
  const script = parseWorkload('default.wl', readFileSync(new URL('../../../fixtures/workloads/default.wl', import.meta.url), 'utf8'));
  const sites = image.mcountSites.filter((a) => image.isText(a));
  let counts!: Float64Array;
  const plain = runScript(image, script, { cpus: 2, seed: 4, maxInsns: 1e9, attach: (pl) => { counts = pl.machine.countExecutions(sites); } });
  const hits = new Map<number, number>();
  const reg = new Set<number>();
  const r = runScript(image, script, {
    cpus: 2, seed: 4, maxInsns: 1e9,
    attach: (pl) => {
      const mgr = KprobeManager.attach(pl); Optimizer.attach(pl, mgr);
      for (const a of sites) if (mgr.registerKprobe({ addr: a, preHandler: () => { hits.set(a, (hits.get(a) ?? 0) + 1); } }) === 0) reg.add(a);
    },
  });
  assert.ok(reg.size > 50, `${reg.size} ftrace probes`);
  assert.equal(r.syscalls, plain.syscalls);
  assert.is(r.console, plain.console);
  assert.is(r.instructions, plain.instructions);
  let fired = 0;
  for (const [i, a] of sites.entries()) {
    if (!reg.has(a)) continue; // blacklisted
    assert.is(hits.get(a) ?? 0, counts[i], image.formatAddr(a));
    if (counts[i] > 0) fired++;
  }
  assert.ok(fired > 20, `${fired} sites fired`);
});

test.run();
