// The kprobes core on the fixture kernel: the kernel's own selftests (lib/test_kprobes.c: test_kprobe,
// test_kprobes, test_kprobe_missed) driven through the ktrace_selftest system call, every refusal
// reason with the kernel's errno, aggregates, enable/disable and the global knob, a pre_handler that
// changes the path, faults during the single-step, [GONE] init probes and handler oopses.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Image } from '../../src/elf/image.js';
import { DEFAULT_VMLINUX } from '../../src/paths.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { runScript, type RunResult } from '../../src/kernel/session.js';
import { toAddr } from '../../src/base/addr.js';
import {
  KprobeManager, callFromHandler, KPROBE_FLAG_DISABLED, KPROBE_FLAG_GONE, HandlerFault, renderKprobeList,
  type Kprobe,
} from '../../src/kprobe/index.js';

const image = Image.load(readFileSync(DEFAULT_VMLINUX));
const EINVAL = -22, ENOENT = -2, EILSEQ = -84, EOPNOTSUPP = -95;
const div_factor = 3;
// The selftest draws a random value; a fixed one keeps the run reproducible (any u32 works).
const rand1 = 0x1234567 + Number(process.env.KTRACE_SEED ?? 577);

function run(src: string, attach: (mgr: KprobeManager) => void, cpus = 1): { r: RunResult; mgr: KprobeManager } {
  let mgr!: KprobeManager;
  const r = runScript(image, parseWorkload('t.wl', src), {
    cpus, seed: 1, maxInsns: 200_000_000,
    attach: (pl) => { mgr = KprobeManager.attach(pl); attach(mgr); },
  });
  return { r, mgr };
}
const sel = (which: number, v: number) => `v = ktrace_selftest ${which} ${v}\n`;
function results(r: RunResult): Record<string, number> { return r.syscalls['ktrace_selftest']?.results ?? {}; }

test('test_kprobe: pre and post handlers both run, with consistent values', () => {
  let preh_val = 0, posth_val = 0, preIp = 0, postIp = 0;
  const kp: Kprobe = {
    symbolName: 'kprobe_target',
    preHandler: (_p, regs) => { preh_val = Number(regs.di) / div_factor | 0; preIp = regs.ip; return 0; },
    postHandler: (_p, regs) => { assert.is(preh_val, (rand1 / div_factor) | 0); posth_val = preh_val + div_factor; postIp = regs.ip; },
  };
  const { r, mgr } = run(sel(0, rand1) + `expect v == ${(rand1 / 3) | 0}\n`, (m) => assert.is(m.registerKprobe(kp), 0));
  assert.equal(r.end, { kind: 'poweroff', status: 0 });
  assert.equal(r.failures, []);
  assert.is(preh_val, (rand1 / div_factor) | 0);
  assert.is(posth_val, preh_val + div_factor);
  const addr = image.lookupName('kprobe_target')!;
  assert.is(kp.addr, addr, 'register_kprobe resolves symbol_name into addr');
  assert.is(preIp, addr + 1, 'the pre_handler sees ip past the int3, as on x86');
  assert.is(postIp, addr + mgr.probePointOf(kp)!.ainsn.len, 'the post_handler sees ip at the next instruction');
  assert.ok(r.probeInstructions > 0, 'the single-stepped copy counts as probe overhead');
  mgr.unregisterKprobe(kp);
  assert.is(mgr.table.size, 0);
  assert.is(mgr.machine.mem.read8(addr), image.read(addr, 1)![0], 'unregister restores the original byte');
});

test('test_kprobes: two probes registered as a batch both fire (the first one reused after clearing addr and flags)', () => {
  const kp: Kprobe = { symbolName: 'kprobe_target' };
  const seen: string[] = [];
  const mk = (name: string): Kprobe => ({
    symbolName: name,
    preHandler: (_p, regs) => { seen.push(`pre ${name} ${regs.di}`); return 0; },
    postHandler: () => { seen.push(`post ${name}`); },
  });
  run('', (m) => { assert.is(m.registerKprobe(kp), 0); assert.is(m.unregisterKprobe(kp), 0); });
  assert.ok((kp.flags! & KPROBE_FLAG_DISABLED) !== 0, 'unregister leaves the kprobe disabled, as the kernel does');
  const kp2 = mk('kprobe_target2');
  Object.assign(kp, mk('kprobe_target'));
  // "addr and flags should be cleard for reusing kprobe."
  kp.addr = undefined; kp.flags = 0;
  const { r } = run(sel(0, rand1) + sel(1, rand1), (m) => assert.is(m.registerKprobes([kp, kp2]), 0));
  assert.equal(seen, [`pre kprobe_target ${rand1}`, 'post kprobe_target', `pre kprobe_target2 ${rand1}`, 'post kprobe_target2']);
  assert.equal(results(r), { [String((rand1 / 3) | 0)]: 1, [String(((rand1 / 3) | 0) + 1)]: 1 });
});

test('test_kprobe_missed: handlers that call the probed function count the nested hits in nmissed', () => {
  let preh_val = 0, posth_val = 0, mgr!: KprobeManager;
  const target = image.lookupName('kprobe_recursed_target')!;
  const kp_missed: Kprobe = {
    symbolName: 'kprobe_recursed_target',
    preHandler: (_p, regs) => { preh_val = Number(callFromHandler(mgr, regs.cpu, target, [BigInt(rand1)])); return 0; },
    postHandler: (_p, regs) => {
      const expval = Number(callFromHandler(mgr, regs.cpu, target, [BigInt(rand1)]));
      assert.is(preh_val, expval);
      posth_val = preh_val + div_factor;
    },
  };
  const { r } = run(sel(2, rand1), (m) => { mgr = m; assert.is(m.registerKprobe(kp_missed), 0); });
  assert.is(kp_missed.nmissed, 2);
  assert.is(preh_val, (rand1 / div_factor) | 0);
  assert.is(posth_val, preh_val + div_factor);
  assert.equal(results(r), { [String((rand1 / 3) | 0)]: 1 }, 'the probed call itself still returns its value');
  assert.is(r.end.kind, 'poweroff');
});

test('refusals carry the kernel errno', () => {
  run('', (m) => {
    const t = image.lookupName('kprobe_target')!;
    assert.is(m.registerKprobe({ symbolName: 'kprobe_target', addr: t }), EINVAL, 'symbol and addr both given');
    assert.is(m.registerKprobe({}), EINVAL, 'neither given');
    assert.is(m.registerKprobe({ symbolName: 'no_such_function_here' }), ENOENT);
    const bl = image.kprobeBlacklist[0];
    assert.is(m.registerKprobe({ addr: bl.start }), EINVAL, `blacklisted ${bl.name}`);
    assert.match(m.lastError.reason, /blacklist/);
    for (const name of ['entry_SYSCALL_64']) {
      const a = image.lookupName(name);
      if (a !== undefined) assert.is(m.registerKprobe({ addr: a }), EINVAL, `${name} (.entry.text)`);
    }
    assert.is(m.registerKprobe({ addr: image.symbolAddr('boot_params')! }), EINVAL, 'data is not kernel text');
    assert.is(m.registerKprobe({ addr: 0x1000 }), ENOENT, 'no symbol covers a user address (_kprobe_addr)');
    // not on an instruction boundary: inside the first instruction of kprobe_target
    const first = m.recover(t, 16);
    assert.ok(first[0] !== 0x90, 'the first instruction is longer than one byte');
    assert.is(m.registerKprobe({ symbolName: 'kprobe_target', offset: 1 }), EILSEQ);
    assert.match(m.lastError.reason, /instruction boundary/);
    // an int3 that is already there (lkdtm_INT3's own breakpoint)
    const lk = image.lookupName('lkdtm_INT3')!;
    let off = 0; while (m.recover(lk + off, 1)[0] !== 0xcc) off++;
    assert.is(m.registerKprobe({ symbolName: 'lkdtm_INT3', offset: off }), EOPNOTSUPP);
    // the same kprobe twice
    const kp: Kprobe = { symbolName: 'kprobe_target' };
    assert.is(m.registerKprobe(kp), 0);
    assert.is(m.registerKprobe(kp), EINVAL, 'both symbol and addr are set now (kprobe_addr)');
    const again: Kprobe = { addr: t };
    assert.is(m.registerKprobe(again), 0, 'a second kprobe at the same address is fine (aggregate)');
    again.addr = undefined; again.symbolName = 'kprobe_target';
    assert.is(m.registerKprobe(again), EINVAL, 'already registered (check_kprobe_rereg)');
    // kprobes-internal: an instruction slot
    const slot = m.probePointOf(kp)!.ainsn.slot || m.slots.alloc();
    assert.is(m.registerKprobe({ addr: slot }), EINVAL);
    assert.match(m.lastError.reason, /kprobes-internal/);
    // a batch with a bad probe: the ones before it are unregistered
    const good1: Kprobe = { symbolName: 'kprobe_target2' }, good2: Kprobe = { symbolName: 'vfs_read' };
    const before = m.table.size;
    assert.is(m.registerKprobes([good1, good2, { symbolName: 'nope_nope' }]), ENOENT);
    assert.is(m.table.size, before, 'the batch left nothing behind');
    assert.is(m.probePointOf(good1), undefined);
    assert.is(m.registerKprobes([]), EINVAL);
    assert.is(m.unregisterKprobe({ symbolName: 'x' }), EINVAL, 'unregistering an unknown kprobe');
    assert.is(m.enableKprobe({ symbolName: 'x' }), EINVAL);
    assert.is(m.disableKprobe({ symbolName: 'x' }), EINVAL);
  });
});

test('aggregate probes: all run, post_handler probes last; disabling one leaves the others', () => {
  const order: string[] = [];
  const a: Kprobe = { symbolName: 'kprobe_target', preHandler: () => { order.push('a'); }, postHandler: () => { order.push('a-post'); } };
  const b: Kprobe = { symbolName: 'kprobe_target', preHandler: () => { order.push('b'); } };
  const c: Kprobe = { symbolName: 'kprobe_target', preHandler: () => { order.push('c'); }, flags: KPROBE_FLAG_DISABLED };
  const { mgr } = run(sel(0, 9) + sel(0, 9), (m) => {
    assert.is(m.registerKprobe(a), 0); assert.is(m.registerKprobe(b), 0); assert.is(m.registerKprobe(c), 0);
    assert.is(m.table.size, 1, 'one probe point');
  });
  assert.equal(order, ['b', 'a', 'a-post', 'b', 'a', 'a-post']);
  const list = renderKprobeList(mgr);
  assert.is(list.split('\n').filter((l) => l.includes('kprobe_target+0x0')).length, 3);
  assert.match(list, /kprobe_target\+0x0    \[DISABLED\]\n/);
});

test('disable/enable and the global enabled knob (per-probe disabled state survives it)', () => {
  let hits = 0, hits2 = 0;
  const kp: Kprobe = { symbolName: 'kprobe_target', preHandler: () => { hits++; } };
  const kp2: Kprobe = { symbolName: 'kprobe_target2', preHandler: () => { hits2++; } };
  const { mgr } = run(sel(0, 1) + sel(1, 1), (m) => {
    assert.is(m.registerKprobe(kp), 0); assert.is(m.registerKprobe(kp2), 0);
    const t = image.lookupName('kprobe_target')!;
    assert.is(m.machine.mem.read8(t), 0xcc, 'armed');
    assert.is(m.disableKprobe(kp2), 0);
    m.disarmAllKprobes();
    assert.is(m.machine.mem.read8(t), image.read(t, 1)![0], 'disarmed: the original byte is back');
    m.armAllKprobes();
    assert.is(m.machine.mem.read8(t), 0xcc);
    assert.is(m.machine.mem.read8(image.lookupName('kprobe_target2')!), image.read(image.lookupName('kprobe_target2')!, 1)![0],
      'a disabled probe stays disarmed after arming all');
  });
  assert.is(hits, 1); assert.is(hits2, 0);
  assert.is(mgr.enableKprobe(kp2), 0);
  assert.is(mgr.machine.mem.read8(kp2.addr!), 0xcc);
  mgr.disarmAllKprobes();
  assert.is(mgr.enableKprobe(kp), 0);
  assert.is(mgr.machine.mem.read8(kp.addr!), image.read(kp.addr!, 1)![0], 'enable does not arm while all are disarmed');
});

test('a pre_handler returning non-zero resumes at regs.ip: no single-step, no post_handler', () => {
  let post = 0;
  const kp: Kprobe = {
    symbolName: 'kprobe_target',
    // "return 42" from the function: pop the return address into ip
    preHandler: (_p, regs) => {
      regs.ax = 42n;
      regs.ip = toAddr(regs.cpu.mem.read64(regs.sp));
      regs.sp = regs.sp + 8;
      return 1;
    },
    postHandler: () => { post++; },
  };
  const { r } = run(sel(0, 300) + sel(1, 300), (m) => assert.is(m.registerKprobe(kp), 0));
  assert.equal(results(r), { '42': 1, '101': 1 });
  assert.is(post, 0);
});

test('boosted probes (no post_handler) jump back from the slot; the kernel count is untouched', () => {
  const plain = runScript(image, parseWorkload('t', sel(0, 5) + sel(1, 5)), { cpus: 1, seed: 1, maxInsns: 2e8 });
  let hits = 0;
  const { r, mgr } = run(sel(0, 5) + sel(1, 5), (m) => {
    // every instruction of both targets
    for (const name of ['kprobe_target', 'kprobe_target2']) {
      const s = image.lookupAddr(image.lookupName(name)!)!;
      for (let off = 0; off < s.size; off++) {
        const p: Kprobe = { symbolName: name, offset: off, preHandler: () => { hits++; } };
        const ret = m.registerKprobe(p);
        assert.ok(ret === 0 || ret === EILSEQ, `${name}+${off}: ${m.lastError.reason}`);
      }
    }
  });
  const boosted = [...mgr.table.values()].filter((pp) => pp.ainsn.boostable).length;
  assert.ok(boosted > 0, 'some instructions are boostable');
  assert.is(r.instructions, plain.instructions, 'kernel instruction count as unprobed');
  assert.is(r.emulatedNs, plain.emulatedNs);
  assert.equal(results(r), results(plain));
  assert.is(hits, [...mgr.table.values()].reduce((s, pp) => s + pp.hits, 0));
  assert.ok(hits > 0);
});

test('a fault while single-stepping goes to the fault_handler with ip at the probed instruction, then to the kernel fixup', () => {
  const faults: { trapnr: number; ip: number }[] = [];
  const probes: Kprobe[] = image.exceptionTable.map((e) => ({
    addr: e.insn,
    faultHandler: (_p: Kprobe, regs, trapnr) => { faults.push({ trapnr, ip: regs.ip }); return 0; },
    postHandler: () => {},
  }));
  const src = 'b = buf 8\nfd = openat "/etc/motd"\nn = read fd 16 4\nexpect n == -EFAULT\nn = read fd b 4\nexpect n == 4\n';
  const plain = runScript(image, parseWorkload('t', src), { cpus: 1, seed: 1, maxInsns: 2e8 });
  const { r } = run(src, (m) => { for (const p of probes) assert.is(m.registerKprobe(p), 0, m.lastError.reason); });
  assert.equal(r.failures, []);
  assert.ok(faults.length >= 1, 'the fault handler ran');
  for (const f of faults) {
    assert.is(f.trapnr, 14);
    assert.ok(image.exceptionTable.some((e) => e.insn === f.ip), 'regs.ip is the original instruction, so the fixup applies');
  }
  assert.is(r.instructions, plain.instructions, 'a faulting copy retires nothing, like the faulting original');
});

test('probes on __init code fire during boot and become [GONE] when init memory is freed', () => {
  let hits = 0;
  const kp: Kprobe = { symbolName: 'init_test_probes', preHandler: () => { hits++; } };
  const { r, mgr } = run('', (m) => assert.is(m.registerKprobe(kp), 0));
  assert.is(r.end.kind, 'poweroff');
  assert.is(hits, 1);
  assert.ok((kp.flags! & KPROBE_FLAG_GONE) !== 0);
  assert.match(renderKprobeList(mgr), /init_test_probes\+0x0    \[GONE\]\n/);
  assert.is(mgr.enableKprobe(kp), EINVAL);
  assert.is(mgr.registerKprobe({ symbolName: 'start_kernel' }), EINVAL, 'freed init text is no longer kernel text');
  assert.is(mgr.unregisterKprobe(kp), 0);
  assert.is(mgr.machine.mem.read8(kp.addr!), 0xcc, 'unregister does not write into the freed (poisoned) memory');
});

test('a handler that throws is an oops that ends the run, not a host crash; fault_handler may fix handler faults', () => {
  const bad: Kprobe = { symbolName: 'kprobe_target', preHandler: () => { throw new Error('boom'); } };
  const { r, mgr } = run(sel(0, 1), (m) => assert.is(m.registerKprobe(bad), 0));
  assert.is(r.end.kind, 'fatal');
  assert.match((r.end as { message: string }).message, /kprobe handler at kprobe_target\+0x0\/0x[0-9a-f]+ failed: boom/);
  assert.is(mgr.oopses.length, 1);
  let fixed = 0;
  const faulty: Kprobe = {
    symbolName: 'kprobe_target',
    preHandler: () => { throw new HandlerFault(14, 'read of an unmapped address'); },
    faultHandler: (_p, _regs, trapnr) => { fixed = trapnr; return 1; },
  };
  const ok = run(sel(0, 30), (m) => assert.is(m.registerKprobe(faulty), 0));
  assert.is(ok.r.end.kind, 'poweroff');
  assert.is(fixed, 14);
  assert.is(faulty.nmissed, 1, 'kprobe_fault_handler counts the fault in nmissed');
  assert.equal(results(ok.r), { '10': 1 });
});

test('unregistering from inside a handler: the CPU finishes its step in a slot nobody else gets meanwhile', () => {
  let mgr!: KprobeManager, slot1 = 0, slot2 = -1, post = 0, hits2 = 0;
  const kp2: Kprobe = { symbolName: 'kprobe_target2', preHandler: () => { hits2++; }, postHandler: () => {} };
  const kp: Kprobe = {
    symbolName: 'kprobe_target',
    preHandler: (p) => {
      slot1 = mgr.probePointOf(p)!.ainsn.slot;
      assert.is(mgr.unregisterKprobe(p), 0);
      assert.is(mgr.registerKprobe(kp2), 0);
      slot2 = mgr.probePointOf(kp2)!.ainsn.slot;
      return 0;
    },
    postHandler: () => { post++; },
  };
  const { r } = run(sel(0, 300) + sel(1, 300) + sel(0, 300), (m) => { mgr = m; assert.is(m.registerKprobe(kp), 0); });
  assert.ok(slot1 !== 0 && slot2 !== slot1, 'the stepping CPU keeps its slot');
  assert.equal(results(r), { '100': 2, '101': 1 });
  assert.is(hits2, 1);
  assert.is(post, 0, 'the post_handler of a kprobe unregistered in its pre_handler does not run (it left the aggregate list)');
});

test('unregistering a probe that was never registered clears its addr (unregister_kprobe and unregister_kprobes)', () => {
  run('', (mgr) => {
    const a: Kprobe = { symbolName: 'vfs_read', addr: 0x1234 }, b: Kprobe = { addr: image.lookupName('vfs_write')! }, c: Kprobe = { symbolName: 'vfs_read' };
    assert.is(mgr.unregisterKprobe(a), -22);
    assert.is(a.addr, undefined);
    assert.is(mgr.registerKprobe(c), 0);
    mgr.unregisterKprobes([b, c]);
    assert.is(b.addr, undefined, 'never registered: cleared');
    assert.is(c.addr, image.lookupName('vfs_read'), 'a registered probe keeps its addr after unregistering, as in the kernel');
  });
});

test.run();
