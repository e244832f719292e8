// linux-snapshots: 1 (the boot snapshots this file restores: scripts/test.mjs makes them first)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addressRefusal, alternativesRefusal, resolveKprobeAddr, type ProbeSite } from '../../src/kprobe/check.js';
import { EINVAL, ENOENT } from '../../src/base/errno.js';
import { fixtureImage } from '../elf/fixture.js';
import { Image } from '../../src/elf/image.js';
import { Disassembler } from '../../src/elf/disasm.js';
import { bundledLinuxPath, LINUX_FIXTURE_DIR } from '../../src/kernel/linux/bundle.js';
import { FIXTURES } from '../../src/paths.js';
import { parseWorkload } from '../../src/kernel/workload/parser.js';
import { runScript } from '../../src/kernel/session.js';
import { KprobeManager } from '../../src/kprobe/kprobes.js';
import { seededSample } from '../../src/kprobe/sweep.js';

const image = fixtureImage();
const site: ProbeSite = {
  lookupName: (n) => image.lookupName(n), lookupAddr: (a) => image.lookupAddr(a), formatAddr: (a) => image.formatAddr(a),
  isKernelText: (a) => image.isText(a), inKprobeBlacklist: (a) => image.inKprobeBlacklist(a),
};

test('resolveKprobeAddr: symbol+offset or address, which a symbol must cover (_kprobe_addr)', () => {
  const t = image.lookupName('kprobe_target')!;
  assert.equal(resolveKprobeAddr(site, 'kprobe_target', undefined, 4), { ok: true, addr: t + 4 });
  assert.equal(resolveKprobeAddr(site, undefined, t, 0), { ok: true, addr: t });
  assert.is((resolveKprobeAddr(site, 'no_such_function_here', undefined, 0) as { errno: number }).errno, ENOENT);
  assert.is((resolveKprobeAddr(site, undefined, 0x1000, 0) as { errno: number }).errno, ENOENT);
  assert.ok(resolveKprobeAddr({ ...site, isInternal: (a) => a === 0x1000 }, undefined, 0x1000, 0).ok, 'kprobes-internal text counts as covered');
});

test('addressRefusal: check_kprobe_address_safe (text, internal, blacklist)', () => {
  const t = image.lookupName('kprobe_target')!;
  assert.is(addressRefusal(site, t), undefined);
  const bl = image.kprobeBlacklist[0]!;
  assert.equal(addressRefusal(site, bl.start)?.errno, EINVAL);
  assert.match(addressRefusal(site, bl.start)!.reason, /blacklist/);
  assert.match(addressRefusal(site, image.symbolAddr('boot_params')!)!.reason, /not kernel text/);
  assert.match(addressRefusal({ ...site, isInternal: (a) => a === t }, t)!.reason, /kprobes-internal/);
});

test('the miniature kernel has no text it patches itself: no refusal for it, and no lock-prefix rule', () => {
  assert.is(image.functions.filter((f) => image.patchedText(f.addr) !== undefined).length, 0);
  assert.is(alternativesRefusal(site, image.lookupName('kprobe_target')!), undefined);
});

// Real Linux 6.1: register_kprobe refuses text the kernel patches itself, from the image's own tables.
const linux = existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br')) ? Image.load(readFileSync(bundledLinuxPath())) : undefined;
const linuxSite = (img: Image): ProbeSite => ({
  lookupName: (n) => img.lookupName(n), lookupAddr: (a) => img.lookupAddr(a), formatAddr: (a) => img.formatAddr(a),
  isKernelText: (a) => img.isText(a), inKprobeBlacklist: (a) => img.inKprobeBlacklist(a), patchedText: (a) => img.patchedText(a),
});

test('real Linux: static call sites and BUG()/WARN() sites are refused with EINVAL, their neighbours are not', () => {
  if (!linux) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  const ls = linuxSite(linux);
  const reserved = new Set([...linux.staticCallSites.flatMap((a) => [0, 1, 2, 3, 4].map((i) => a + i)), ...linux.bugSites]);
  const blocked = (a: number) => reserved.has(a) || ls.inKprobeBlacklist(a) || !ls.isKernelText(a);
  for (const a of seededSample(linux.staticCallSites, 40, 3)) {
    const r = addressRefusal(ls, a);
    if (ls.inKprobeBlacklist(a)) continue; // the blacklist comes first
    assert.equal(r?.errno, EINVAL, linux.formatAddr(a));
    assert.match(r!.reason, /static_call_text_reserved/);
    // the instruction after the 5-byte call is free unless a table or the blacklist names it
    if (!blocked(a + 5)) assert.is(addressRefusal(ls, a + 5), undefined, linux.formatAddr(a + 5));
  }
  for (const a of seededSample(linux.bugSites, 40, 3)) {
    if (ls.inKprobeBlacklist(a)) continue;
    assert.match(addressRefusal(ls, a)!.reason, /find_bug/, linux.formatAddr(a));
    if (!blocked(a + 2)) assert.is(addressRefusal(ls, a + 2), undefined);
  }
  // every boundary of a few functions: refused by these rules exactly where the tables say
  const d = new Disassembler(linux);
  try {
    for (const name of ['do_exit', '__schedule', 'copy_process', 'vfs_read']) {
      const f = linux.symbol(name)!;
      let n = 0;
      for (const { addr } of d.lines(f.addr, f.addr + f.size)) {
        const r = addressRefusal(ls, addr);
        assert.is(r !== undefined, blocked(addr), linux.formatAddr(addr));
        if (r && reserved.has(addr)) n++;
      }
      if (name !== 'vfs_read') assert.ok(n > 0, `${name} has a static call or a WARN()`);
    }
  } finally { d.free(); }
});

test('real Linux, booted: lock prefixes are refused only when the kernel listed them for SMP alternatives; init text is gone', () => {
  if (!linux) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  let mgr!: KprobeManager;
  const r = runScript(linux, parseWorkload('cat.wl', readFileSync(join(FIXTURES, 'workloads', 'cat.wl'), 'utf8')), {
    cpus: 1, seed: 1, maxInsns: 400_000_000, attach: (p) => { mgr = KprobeManager.attach(p); },
  });
  assert.is(r.end.kind, 'poweroff');
  const text = linux.text!;
  const locks = [...linux.smpLockSites].filter((a) => a >= text.start && a < text.end && !linux.inKprobeBlacklist(a) && !linux.patchedText(a));
  const [a, b] = seededSample(locks, 2, 5);
  // one possible CPU: alternative_instructions patched the kernel for UP for good and listed nothing
  const head = linux.symbolAddr('smp_alt_modules')!;
  assert.is(Number(BigInt.asIntN(64, mgr.machine.mem.read64(head))), head, 'smp_alt_modules is empty');
  const ka = { addr: a, preHandler: () => 0 };
  const ra = mgr.registerKprobe(ka);
  assert.not.match(mgr.lastError.reason, /alternatives/, linux.formatAddr(a));
  if (ra === 0) mgr.unregisterKprobe(ka);
  // a kernel that listed its .smp_locks (more CPUs possible than present): refused, as arch_prepare_kprobe does
  mgr.machine.mem.write64(head, BigInt.asUintN(64, BigInt(head + 0x100)));
  assert.is(mgr.registerKprobe({ addr: b, preHandler: () => 0 }), -EINVAL, linux.formatAddr(b));
  assert.match(mgr.lastError.reason, /alternatives_text_reserved/);
  assert.is(mgr.registerKprobe({ addr: b + 1, preHandler: () => 0 }) === -EINVAL && /alternatives/.test(mgr.lastError.reason), false);
  mgr.machine.mem.write64(head, BigInt.asUintN(64, BigInt(head)));
  // init text was freed before /init ran (core_kernel_text): not kernel text any more
  assert.is(mgr.registerKprobe({ symbolName: 'start_kernel', preHandler: () => 0 }), -EINVAL);
  assert.match(mgr.lastError.reason, /not kernel text/);
});

test.run();
