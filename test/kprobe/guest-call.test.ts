// Calling kernel functions from inside a handler: the value comes back, the interrupted context is
// restored exactly, the call's instructions count as probe overhead, and a fault in the called code
// goes to the probe's fault_handler and then becomes an oops.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Image } from '../../src/elf/image.js';
import { DEFAULT_VMLINUX } from '../../src/paths.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { runScript } from '../../src/kernel/session.js';
import { KprobeManager, callFromHandler, type Kprobe } from '../../src/kprobe/index.js';

const image = Image.load(readFileSync(DEFAULT_VMLINUX));
const src = 'v = ktrace_selftest 1 600\nexpect v == 201\n';

test('a handler calls kprobe_target: value back, context restored, kernel count as unprobed', () => {
  const plain = runScript(image, parseWorkload('t', src), { cpus: 1, seed: 1, maxInsns: 2e8 });
  let mgr!: KprobeManager, got = -1n, same = false;
  const kp: Kprobe = {
    symbolName: 'kprobe_target2',
    preHandler: (_p, regs) => {
      const before = [...regs.cpu.regs], ip = regs.ip, flags = regs.flags;
      got = callFromHandler(mgr, regs.cpu, image.lookupName('kprobe_target')!, [999n]);
      same = before.every((v, i) => v === regs.cpu.regs[i]) && ip === regs.ip && flags === regs.flags;
      return 0;
    },
  };
  const r = runScript(image, parseWorkload('t', src), {
    cpus: 1, seed: 1, maxInsns: 2e8,
    attach: (pl) => { mgr = KprobeManager.attach(pl); assert.is(mgr.registerKprobe(kp), 0); },
  });
  assert.is(got, 333n);
  assert.ok(same, 'registers, ip and flags are as before the call');
  assert.equal(r.failures, []);
  assert.is(r.instructions, plain.instructions, 'the call counts as probe overhead, not kernel work');
  assert.ok(r.probeInstructions >= 5);
});

test('a guest fault in a call from a handler goes to fault_handler, then is an oops', () => {
  const traps: number[] = [];
  let mgr!: KprobeManager;
  const kp: Kprobe = {
    symbolName: 'kprobe_target2',
    preHandler: (_p, regs) => { callFromHandler(mgr, regs.cpu, image.lookupName('lkdtm_READ_UNMAPPED')!, []); return 0; },
    faultHandler: (_p, _regs, trapnr) => { traps.push(trapnr); return 0; },
  };
  const r = runScript(image, parseWorkload('t', src), {
    cpus: 1, seed: 1, maxInsns: 2e8,
    attach: (pl) => { mgr = KprobeManager.attach(pl); assert.is(mgr.registerKprobe(kp), 0); },
  });
  assert.equal(traps, [14]);
  assert.is(kp.nmissed, 1);
  assert.is(r.end.kind, 'fatal');
  assert.match((r.end as { message: string }).message, /kprobe handler at kprobe_target2\+0x0\/0x[0-9a-f]+ faulted \(trap 14\): .*PageFault at lkdtm_READ_UNMAPPED/);
});

test.run();
