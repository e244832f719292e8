// Return probes on the fixture kernel: the kernel's selftests (lib/test_kprobes.c: test_kretprobe,
// test_kretprobes), refusals, enable/disable, unregistering with instances in flight, maxactive and
// nmissed with tasks sleeping in pipe_read (misses counted independently), tasks dying inside a probed
// do_exit, the kretprobe BUG! path, the `list` type, and transparency with a kretprobe on every
// probe-able function (the default workload's results, console and instruction count as unprobed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Image } from '../../src/elf/image.js';
import { DEFAULT_VMLINUX, FIXTURES } from '../../src/paths.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { runScript, type RunResult } from '../../src/kernel/session.js';
import {
  KprobeManager, KretprobeManager, renderKprobeList, callFromHandler, regsReturnValue, instructionBoundaries, KPROBE_FLAG_DISABLED,
  type Kprobe, type Kretprobe,
} from '../../src/kprobe/index.js';

const LONG = process.env.KTRACE_LONG === '1';
const image = Image.load(readFileSync(DEFAULT_VMLINUX));
const EINVAL = -22, ENOENT = -2, E2BIG = -7;
const div_factor = 3;
const rand1 = 0x1234567 + 211; // the selftest's random u32; any value works

function run(src: string, attach: (krp: KretprobeManager, mgr: KprobeManager) => void, cpus = 1):
  { r: RunResult; mgr: KprobeManager; krp: KretprobeManager } {
  let mgr!: KprobeManager, krp!: KretprobeManager;
  const r = runScript(image, parseWorkload('t.wl', src), {
    cpus, seed: 1, maxInsns: 400_000_000,
    attach: (pl) => { mgr = KprobeManager.attach(pl); krp = KretprobeManager.attach(pl, mgr); attach(krp, mgr); },
  });
  return { r, mgr, krp };
}
const sel = (which: number, v: number) => `v = ktrace_selftest ${which} ${v}\n`;
function results(r: RunResult, name = 'ktrace_selftest'): Record<string, number> { return r.syscalls[name]?.results ?? {}; }
const pidOf = (krp: KretprobeManager, task: number) => krp.mgr.machine.mem.read32(task + 72) | 0;

test('test_kretprobe: the entry handler, then the return handler with rand/3; ri gives task, retAddr and data', () => {
  const order: string[] = [];
  let rv = -1n, task = 0, retSym = '', seen = -1;
  const rp: Kretprobe = {
    kp: { symbolName: 'kprobe_target' }, dataSize: 8,
    entryHandler: (ri, regs) => { order.push('entry'); ri.data[0] = Number(regs.di & 0xffn); return 0; },
    handler: (ri, regs) => {
      order.push('return');
      rv = regsReturnValue(regs); task = ri.task; seen = ri.data[0];
      retSym = image.lookupAddr(ri.retAddr)?.entry.name ?? '';
      assert.is(regs.ip, ri.retAddr, 'regs.ip is the real return address in the handler');
    },
  };
  const { r, krp } = run(sel(0, rand1), (k) => assert.is(k.registerKretprobe(rp), 0));
  assert.equal(order, ['entry', 'return']);
  assert.is(rv, BigInt(Math.floor(rand1 / div_factor)));
  assert.equal(results(r), { [String(Math.floor(rand1 / div_factor))]: 1 }, 'the caller still gets the value');
  assert.is(seen, rand1 & 0xff, 'data written by the entry handler reaches the return handler');
  assert.is(pidOf(krp, task), 1, 'ri.task is pid 1\'s task_struct');
  assert.is(retSym, '__x64_sys_ktrace_selftest', 'ri.retAddr is in the caller');
  assert.is(rp.nmissed, 0);
  assert.is(rp.maxactive, 10, 'default maxactive max(10, 2*NR_CPUS)');
  assert.is(krp.inFlight(), 0);
  assert.is(r.exitCode, 0);
});

test('test_kretprobes: a batch on kprobe_target and kprobe_target2 (rand/3 and rand/3 + 1)', () => {
  const vals: bigint[] = [];
  const rps: Kretprobe[] = [
    { kp: { symbolName: 'kprobe_target' }, handler: (_ri, regs) => { vals.push(regsReturnValue(regs)); } },
    { kp: { symbolName: 'kprobe_target2' }, handler: (_ri, regs) => { vals.push(regsReturnValue(regs)); } },
  ];
  const { r } = run(sel(0, rand1) + sel(1, rand1), (k) => assert.is(k.registerKretprobes(rps), 0), 2);
  const q = Math.floor(rand1 / div_factor);
  assert.equal(vals, [BigInt(q), BigInt(q + 1)]);
  assert.is(r.exitCode, 0);
  assert.is(rps[0].maxactive, 10);
});

test('refusals: not a function entry, unknown symbols, maxactive above 4096, the blacklist, a failed batch', () => {
  run('', (k, mgr) => {
    assert.is(k.registerKretprobe({ kp: { symbolName: 'kprobe_target', offset: 4 } }), EINVAL);
    assert.match(k.lastError.reason, /not a function entry/);
    assert.is(k.registerKretprobe({ kp: { symbolName: 'no_such_function' } }), ENOENT);
    assert.is(k.registerKretprobe({ kp: { symbolName: 'kprobe_target' }, maxactive: 4097 }), E2BIG);
    const bl = image.kprobeBlacklist.find((e) => image.lookupAddr(e.start)?.offset === 0)!;
    assert.is(k.registerKretprobe({ kp: { addr: bl.start } }), EINVAL, bl.name);
    const ok: Kretprobe = { kp: { symbolName: 'kprobe_target' } };
    assert.is(k.registerKretprobes([ok, { kp: { symbolName: 'kprobe_target2', offset: 1 } }]), EINVAL);
    assert.is(renderKprobeList(mgr, k.typeOf), '', 'the batch\'s first probe was unregistered');
    ok.kp.addr = undefined; ok.kp.flags = 0; // as the selftest resets rp.kp.addr (register sets it)
    assert.is(k.registerKretprobe(ok), 0, 'and can be registered again');
    assert.is(k.registerKretprobe(ok), EINVAL, 'twice is refused');
    assert.is(k.unregisterKretprobe({ kp: { symbolName: 'x' } }), EINVAL);
  });
});

test('list shows return probes as "r" next to kprobes ("k")', () => {
  run('', (k, mgr) => {
    assert.is(k.registerKretprobe({ kp: { symbolName: 'kprobe_target' } }), 0);
    assert.is(mgr.registerKprobe({ symbolName: 'kprobe_target2' }), 0);
    const text = renderKprobeList(mgr, k.typeOf);
    assert.match(text, /^[0-9a-f]{16} {2}r {2}kprobe_target\+0x0 {4}$/m);
    assert.match(text, /^[0-9a-f]{16} {2}k {2}kprobe_target2\+0x0 {4}$/m);
  });
});

test('disable_kretprobe / enable_kretprobe', () => {
  let n = 0;
  const rp: Kretprobe = { kp: { symbolName: 'kprobe_target', flags: KPROBE_FLAG_DISABLED }, handler: () => { n++; } };
  let krp!: KretprobeManager;
  const drv: Kprobe = { symbolName: 'kprobe_target2', preHandler: () => { assert.is(krp.enableKretprobe(rp), 0); } };
  run(sel(0, 9) + sel(1, 9) + sel(0, 9) + sel(0, 9), (k, mgr) => {
    krp = k;
    assert.is(k.registerKretprobe(rp), 0);
    assert.is(mgr.registerKprobe(drv), 0);
    assert.match(renderKprobeList(mgr, k.typeOf), /r {2}kprobe_target\+0x0 {4}\[DISABLED\]/);
  });
  assert.is(n, 2, 'only the calls after enable_kretprobe');
  assert.is(krp.disableKretprobe({ kp: {} }), EINVAL);
});

test('an entry handler returning non-zero leaves the return address alone for that call', () => {
  let calls = 0, rets = 0;
  let krp!: KretprobeManager;
  const rp: Kretprobe = { kp: { symbolName: 'kprobe_target' }, entryHandler: () => (++calls % 2 === 0 ? 0 : 1), handler: () => { rets++; } };
  const { r } = run(sel(0, 30) + sel(0, 33) + sel(0, 36), (k) => { krp = k; assert.is(k.registerKretprobe(rp), 0); });
  assert.is(calls, 3);
  assert.is(rets, 1, 'only the call whose entry handler returned 0');
  assert.is(krp.trampolineHits, 1);
  assert.is(rp.nmissed, 0);
  assert.equal(results(r), { '10': 1, '11': 1, '12': 1 });
});

test('two kretprobes on one function, and a tail call (vfs_read jumps to the file\'s read): one trampoline return runs them newest first', () => {
  const log: string[] = [];
  const mk = (sym: string, tag: string): Kretprobe => ({ kp: { symbolName: sym }, handler: (ri, regs) => {
    log.push(`${tag}:${regsReturnValue(regs)}:${ri.retAddr === krp.trampoline ? 'trampoline' : image.lookupAddr(ri.retAddr)?.entry.name}`);
  } });
  let krp!: KretprobeManager;
  const a1 = mk('kprobe_target', 'a1'), a2 = mk('kprobe_target', 'a2');
  const v = mk('vfs_read', 'vfs_read'), z = mk('read_zero', 'read_zero');
  const { r } = run(sel(0, 30) + 'fd = openat "/dev/zero"\nb = buf 16\nn = read fd b 7\n', (k) => {
    krp = k; assert.is(k.registerKretprobes([a1, a2, v, z]), 0);
  });
  assert.is(r.exitCode, 0);
  // a2 registered second runs first at entry (no post_handler: unshifted), so its instance holds the
  // real address and a1's holds the trampoline: a1 (newest) then a2 at the return
  assert.equal(log, ['a1:10:trampoline', 'a2:10:__x64_sys_ktrace_selftest', 'read_zero:7:trampoline', 'vfs_read:7:__x64_sys_read']);
  assert.is(krp.trampolineHits, 2);
});

test('a return handler that calls a probed function: the probes it hits are missed (kprobe_busy_begin)', () => {
  let inner = 0, got = -1n;
  const t: Kretprobe = { kp: { symbolName: 'kprobe_target' }, handler: () => { inner++; } };
  let mgr!: KprobeManager;
  const t2: Kretprobe = { kp: { symbolName: 'kprobe_target2' }, handler: (_ri, regs) => {
    got = callFromHandler(mgr, regs.cpu, image.lookupName('kprobe_target')!, [99n]);
  } };
  const { r } = run(sel(1, 9), (k, m) => { mgr = m; assert.is(k.registerKretprobes([t, t2]), 0); });
  assert.is(r.exitCode, 0);
  assert.is(got, 33n);
  assert.is(inner, 0, 'no return probe was set up from inside the handler');
  assert.is(t.kp.nmissed, 1, 'the entry kprobe counted the nested hit as missed');
});

test('recursion (compute_recurse): one instance per frame; maxactive 2 misses the deeper calls, results unchanged', () => {
  const src = 'v = ktrace_compute 0 4096 2\n';
  const plain = runScript(image, parseWorkload('c.wl', src), { cpus: 1, seed: 1, maxInsns: 4e8 });
  for (const maxactive of [undefined, 2]) {
    let calls = 0, rets = 0, depth = 0, maxDepth = 0;
    const rp: Kretprobe = { kp: { symbolName: 'compute_recurse' }, maxactive, handler: () => { rets++; depth--; } };
    const counter: Kprobe = { symbolName: 'compute_recurse', preHandler: () => { calls++; return 0; } };
    const depthProbe: Kretprobe = { kp: { symbolName: 'compute_recurse' }, maxactive: 4096,
      entryHandler: () => { depth++; maxDepth = Math.max(maxDepth, depth); return 0; }, handler: () => {} };
    const { r } = run(src, (k, m) => { assert.is(k.registerKretprobes([rp, depthProbe]), 0); assert.is(m.registerKprobe(counter), 0); });
    assert.equal(r.syscalls, plain.syscalls);
    assert.is(depthProbe.nmissed, 0);
    assert.ok(calls > 2);
    assert.is(rets + rp.nmissed!, calls);
    if (maxactive === 2) assert.ok(rp.nmissed! > 0, `recursion depth ${maxDepth}`); else assert.is(rp.nmissed, 0);
  }
});

test('the kretprobe BUG! line (not a jump to a made-up address) when a trampoline return has no instance', () => {
  let krp!: KretprobeManager;
  // a kprobe that forges the trampoline into kprobe_target's return slot without taking an instance
  const { r, mgr } = run(sel(0, 30) + sel(0, 30), (k, m) => {
    krp = k;
    assert.is(m.registerKprobe({ symbolName: 'kprobe_target', preHandler: (_p, regs) => {
      m.machine.mem.write64(regs.sp, BigInt.asUintN(64, BigInt(k.trampoline)));
    } }), 0);
  });
  assert.ok(mgr.messages.some((l) => /^kretprobe BUG!: Processing kretprobe [0-9a-f]{16} @ [0-9a-f]{16}$/.test(l)), mgr.messages.join('\n'));
  assert.is(r.end.kind, 'fatal');
  assert.is(krp.trampolineHits, 1);
  assert.is(r.syscalls['ktrace_selftest']?.count ?? 0, 0, 'the run ended at the bad return, the call never completed');
});

// --- pipe_read with N tasks asleep in it at once
const N = 4;
// N reader tasks, each on its own pipe so no two writes coalesce (1, 2, 3, 4 bytes: read() results
// tell them apart); each acknowledges on a shared pipe before the next round, so the writer's reads of
// the acks (1 byte) sleep in pipe_read too.
const pipeWl = `a = buf 8
r = pipe2 a
pa = buf 8
r = pipe2 pa
pb = buf 8
r = pipe2 pb
pc = buf 8
r = pipe2 pc
pd = buf 8
r = pipe2 pd
spawn 1 {
  b = buf 32
  repeat 3 {
    n = read pa[0] b 32
    expect n == 1
    write a[1] "k"
  }
}
spawn 1 {
  b = buf 32
  repeat 3 {
    n = read pb[0] b 32
    expect n == 2
    write a[1] "k"
  }
}
spawn 1 {
  b = buf 32
  repeat 3 {
    n = read pc[0] b 32
    expect n == 3
    write a[1] "k"
  }
}
spawn 1 {
  b = buf 32
  repeat 3 {
    n = read pd[0] b 32
    expect n == 4
    write a[1] "k"
  }
}
repeat 3 { sched_yield }
b = buf 8
repeat 3 {
  write pa[1] "a"
  write pb[1] "bb"
  write pc[1] "ccc"
  write pd[1] "dddd"
  repeat ${N} {
    n = read a[0] b 1
    expect n == 1
  }
}
repeat ${N} {
  w = wait4
  expect w > 1
}
`;

function pipeRun(maxactive: number | undefined, cpus: number) {
  const seen: number[] = [];
  let entries = 0, returns = 0, expectMiss = 0, calls = 0, inflight = 0, maxInflight = 0, taskOk = true;
  let krp!: KretprobeManager;
  const rp: Kretprobe = {
    kp: { symbolName: 'pipe_read' }, maxactive,
    entryHandler: () => { entries++; inflight++; maxInflight = Math.max(maxInflight, inflight); return 0; },
    handler: (ri, regs) => {
      returns++; inflight--;
      seen.push(Number(BigInt.asIntN(64, regsReturnValue(regs))));
      if (krp.currentTask(regs.cpu) !== ri.task) taskOk = false;
    },
  };
  // registered after the kretprobe, so it runs first at the shared address (no post_handler: unshifted)
  const counter: Kprobe = {
    symbolName: 'pipe_read',
    preHandler: () => { calls++; if (entries - returns >= (rp.maxactive ?? 0)) expectMiss++; return 0; },
  };
  const { r } = run(pipeWl, (k, mgr) => { krp = k; assert.is(k.registerKretprobe(rp), 0); assert.is(mgr.registerKprobe(counter), 0); }, cpus);
  return { r, rp, seen, calls, expectMiss, maxInflight, taskOk, krp };
}

function hist(vals: number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const v of vals) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

for (const cpus of [1, 2]) {
  test(`pipe_read with ${N} sleeping readers (${cpus} CPU${cpus > 1 ? 's' : ''}): default maxactive misses none, every return value is read()'s`, () => {
    const x = pipeRun(undefined, cpus);
    assert.is(x.r.exitCode, 0, JSON.stringify([x.r.end, x.r.failures]));
    assert.ok(x.maxInflight >= 3, `tasks asleep in pipe_read at once: ${x.maxInflight}`);
    assert.is(x.rp.nmissed, 0);
    assert.is(x.expectMiss, 0);
    assert.is(x.seen.length, x.calls, 'a return handler for every call');
    const reads = x.r.syscalls['read'];
    assert.is(reads.count, 6 * N);
    assert.equal(hist(x.seen), new Map(Object.entries(reads.results).map(([k, v]) => [Number(k), v])),
      'the return values the handlers saw are those read() returned');
    assert.ok(x.taskOk, 'each instance returned in the task that made the call');
    assert.is(x.krp.inFlight(), 0);
  });

  test(`pipe_read with maxactive 1 (${cpus} CPU${cpus > 1 ? 's' : ''}): misses are exactly the calls that found no free instance`, () => {
    const x = pipeRun(1, cpus);
    assert.is(x.r.exitCode, 0, JSON.stringify(x.r.failures));
    assert.ok(x.expectMiss > 0, 'some calls found the instance taken');
    assert.is(x.rp.nmissed, x.expectMiss);
    assert.is(x.seen.length + x.rp.nmissed!, x.calls);
    const reads = x.r.syscalls['read'].results;
    for (const [v, n] of hist(x.seen)) assert.ok((reads[String(v)] ?? 0) >= n, `return value ${v} seen ${n} times`);
  });
}

test('tasks that die inside a probed do_exit: their instances are recycled once they are gone, none is missed', () => {
  const wl = 'repeat 6 {\nspawn 1 {\nme = getpid\n}\nw = wait4\nexpect w > 1\n}\n';
  let entries = 0, returns = 0;
  const rp: Kretprobe = { kp: { symbolName: 'do_exit' }, maxactive: 2, entryHandler: () => { entries++; return 0; }, handler: () => { returns++; } };
  const { r } = run(wl, (k) => assert.is(k.registerKretprobe(rp), 0));
  assert.is(r.exitCode, 0);
  assert.is(entries, 7, 'six children and pid 1 enter do_exit');
  assert.is(returns, 0, 'do_exit never returns');
  assert.is(rp.nmissed, 0, 'two instances serve six dying tasks');
});

test('unregister_kretprobe with instances in flight: sleeping readers still return to their callers', () => {
  let krp!: KretprobeManager;
  let after = 0, unregistered = false;
  const rp: Kretprobe = { kp: { symbolName: 'pipe_read' }, handler: () => { if (unregistered) after++; } };
  const w: Kprobe = { symbolName: 'pipe_write', preHandler: () => {
    if (!unregistered && krp.inFlight() >= 2) { assert.is(krp.unregisterKretprobe(rp), 0); unregistered = true; }
  } };
  const { r } = run(pipeWl, (k, mgr) => { krp = k; k.registerKretprobe(rp); mgr.registerKprobe(w); });
  assert.ok(unregistered);
  assert.is(after, 0, 'no handler after unregister');
  assert.is(r.exitCode, 0, JSON.stringify(r.failures));
  assert.is(krp.inFlight(), 0);
});

// --- transparency: a kretprobe on every probe-able function
const fns = instructionBoundaries(image);
const wl = (name: string) => parseWorkload(name, readFileSync(join(FIXTURES, 'workloads', name), 'utf8'));
// the default workload on 1, 2, 4 CPUs, and with a fast timer (probed functions interrupted and
// preempted, tasks switching inside them); KTRACE_LONG=1 adds the other workloads
const tconfigs: { wl: string; cpus: number; timer?: number }[] = [
  { wl: 'default.wl', cpus: 1 }, { wl: 'default.wl', cpus: 2 }, { wl: 'default.wl', cpus: 4 },
  { wl: 'default.wl', cpus: 2, timer: 2000 },
  ...(LONG ? ['fork-storm.wl', 'net-loopback.wl', 'pipe-pingpong.wl'].flatMap((w) => [
    { wl: w, cpus: 1, timer: 3000 }, { wl: w, cpus: 3 }, { wl: w, cpus: 4, timer: 1500 }]) : []),
];

for (const { wl: name, cpus, timer } of tconfigs) {
  const script = wl(name);
  test(`transparency (${name}, ${cpus} CPU${cpus > 1 ? 's' : ''}${timer ? `, timer every ${timer} insns` : ''}): a kretprobe on every function leaves the run as it was`, () => {
    const plain = runScript(image, script, { cpus, seed: cpus, maxInsns: 1e9, timerPeriod: timer });
    let refused = 0, blacklisted = 0, registered = 0, rets = 0, entries = 0;
    let krp!: KretprobeManager;
    const rps: Kretprobe[] = [];
    const r = runScript(image, script, {
      cpus, seed: cpus, maxInsns: 1e9, timerPeriod: timer,
      attach: (pl) => {
        const mgr = KprobeManager.attach(pl);
        krp = KretprobeManager.attach(pl, mgr);
        const all = fns.map((f) => ({ kp: { addr: f.boundaries[0] }, entryHandler: () => { entries++; return 0; }, handler: () => { rets++; } } as Kretprobe));
        // one batch; on a refusal, register the rest one by one and count the refusals
        if (krp.registerKretprobes(all) === 0) { rps.push(...all); registered = all.length; return; }
        for (const rp of all) {
          rp.kp.flags = 0;
          if (krp.registerKretprobe(rp) === 0) { rps.push(rp); registered++; continue; }
          assert.match(krp.lastError.reason, /blacklist|cannot be executed out of line|not emulated|masks exceptions|only the 64-bit form/,
            `${image.formatAddr(rp.kp.addr!)}: ${krp.lastError.reason}`);
          refused++;
          if (/blacklist/.test(krp.lastError.reason)) blacklisted++;
        }
      },
    });
    assert.equal(r.end, plain.end);
    assert.equal(r.failures, []);
    assert.equal(r.syscalls, plain.syscalls, 'system call results');
    assert.is(r.console, plain.console, 'console output');
    assert.is(r.instructions, plain.instructions, 'kernel instruction count');
    assert.is(r.emulatedNs, plain.emulatedNs, 'emulated time');
    assert.is(registered + refused, fns.length);
    assert.ok(registered > 0.9 * (fns.length - blacklisted), `registered ${registered} of ${fns.length} (${refused} refused, ${blacklisted} blacklisted)`);
    assert.ok(rets > 1000, `return handlers ran ${rets} times`);
    // a return handler per entry, except calls still open at power-off and those of tasks that died in them
    assert.is(entries, rets + krp.inFlight() + krp.reclaimed, `entries ${entries}, returns ${rets}, in flight ${krp.inFlight()}, reclaimed ${krp.reclaimed}`);
    assert.ok(krp.trampolineHits <= rets, 'a tail call shares its caller\'s trampoline return');
  });
}

const READ = 'b = buf 64\nfd = openat "/etc/motd"\nn = read fd b\n';

test('the trampoline is arch_rethook_trampoline in kallsyms; a probed function reading its return slot sees it (__builtin_return_address)', () => {
  let seen = 0;
  run(READ, (krp, mgr) => {
    // registered first, so it runs after the kretprobe's entry handler (an aggregate runs the newest first)
    assert.is(mgr.registerKprobe({ symbolName: 'vfs_read', preHandler: (_p, regs) => { seen = Number(BigInt.asIntN(64, mgr.machine.mem.read64(regs.sp))); } }), 0);
    assert.is(krp.registerKretprobe({ kp: { symbolName: 'vfs_read' } }), 0);
    assert.is(image.lookupName('arch_rethook_trampoline'), krp.trampoline);
  });
  assert.ok(seen !== 0);
  assert.is(image.formatAddr(seen), 'arch_rethook_trampoline+0x0/0x3');
});

test('an oops in a return handler: the backtrace goes through the trampoline to the real callers (kretprobe_find_ret_addr)', () => {
  // the same callers seen from an oops at the function's entry, without any kretprobe
  const entry = run(READ, (_krp, mgr) => { mgr.registerKprobe({ symbolName: 'vfs_read', preHandler: () => { throw new Error('x'); } }); }).r;
  const ret = run(READ, (krp) => { krp.registerKretprobe({ kp: { symbolName: 'vfs_read' }, handler: () => { throw new Error('y'); } }); }).r;
  const a = entry.oops!.backtrace.map((f) => f.text), b = ret.oops!.backtrace.map((f) => f.text);
  assert.match(a[0], /^vfs_read\+0x1\//);
  assert.is(b[0], 'arch_rethook_trampoline+0x0/0x3');
  assert.ok(b.length >= 4, b.join(' '));
  assert.equal(b.slice(1), a.slice(1), 'the callers past the trampoline');
  assert.match((ret.end as { message: string }).message, /kretprobe handler for vfs_read\+0x0\/0x[0-9a-f]+ failed: y/);
});

test.run();
