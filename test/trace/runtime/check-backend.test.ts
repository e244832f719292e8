import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkBackend } from '../../../src/trace/runtime/check-backend.js';
import { KprobeEvents, imageResolver } from '../../../src/trace/kprobe-events/index.js';
import { archProbeRefusal } from '../../../src/kprobe/x86.js';
import { KprobeManager } from '../../../src/kprobe/kprobes.js';
import { prepare } from '../../../src/kernel/session.js';
import { parseWorkload } from '../../../src/kernel/workload/parser.js';
import { fixtureImage } from '../../elf/fixture.js';

const img = fixtureImage();
const events = (withBoundary = true) => new KprobeEvents({ resolver: imageResolver(img), backend: checkBackend(img, withBoundary ? archProbeRefusal : undefined), now: () => 0n });

test('the check-only backend refuses what register_kprobe refuses, with the kernel errnos', () => {
  const ev = events();
  assert.ok(ev.write('p:a vfs_read\n') > 0);
  assert.is(ev.write('p:b vfs_read+1\n'), -84); // -EILSEQ: not an instruction boundary
  assert.is(ev.errorLog.entries.at(-1)!.code, 'BAD_INSN_BNDRY');
  // A blacklisted function (NOKPROBE_SYMBOL / .entry.text): -EINVAL, "Failed to register probe event".
  const bl = img.kprobeBlacklist[0]!;
  assert.is(ev.write(`p:c ${bl.name}\n`), -22);
  assert.is(ev.errorLog.entries.at(-1)!.code, 'FAIL_REG_PROBE');
  // The real boundary after the first instruction is accepted.
  const len = 5; // vfs_read starts with a 5-byte nop (fentry site)
  assert.ok(ev.write(`p:d vfs_read+${len}\n`) > 0);
});

test('instructions register_kprobe refuses are refused at creation, with its errno and reason (the same check)', () => {
  // Every instruction boundary of do_idle, do_syscall_64 and lkdtm_INT3 against the real kprobe layer on a
  // booted machine: the check-only backend gives the same errno and the same reason for each.
  let mgr!: KprobeManager;
  prepare(img, parseWorkload('idle', ''), { cpus: 1, seed: 1, maxInsns: 1, attach: (pl) => { mgr = KprobeManager.attach(pl); } });
  const backend = checkBackend(img, archProbeRefusal);
  const ev = new KprobeEvents({ resolver: imageResolver(img), backend, now: () => 0n });
  const seen = new Map<number, number>();
  for (const fn of ['do_idle', 'do_syscall_64', 'lkdtm_INT3']) {
    const start = img.lookupName(fn)!, size = img.functionAt(start)!.size;
    for (let off = 0; off < size; off++) {
      const want = mgr.registerKprobe({ addr: start + off });
      const rc = ev.write(`p:t/${fn}_${off} ${fn}+${off}\n`);
      assert.is(rc > 0 ? 0 : rc, want, `${fn}+${off}: ${mgr.lastError.reason}`);
      seen.set(want, (seen.get(want) ?? 0) + 1);
      if (want === 0) continue;
      if (want !== -84) {
        assert.equal(backend.refusal, { errno: -want, reason: mgr.lastError.reason }, `${fn}+${off}`);
        assert.is(ev.errorLog.entries.at(-1)!.code, 'FAIL_REG_PROBE');
      }
    }
  }
  assert.ok((seen.get(-95) ?? 0) >= 3, 'hlt, an indirect call through memory and an int3 were refused with -EOPNOTSUPP');
  assert.ok((seen.get(0) ?? 0) > 10 && (seen.get(-84) ?? 0) > 10);
  assert.match(String(checkBackend(img, archProbeRefusal).register(ev.probes[0]!, false)), /^0$/);
  const hlt = new KprobeEvents({ resolver: imageResolver(img), backend, now: () => 0n });
  assert.is(hlt.write('p:probe/do_idle do_idle+49\n'), -95);
  assert.match(backend.refusal!.reason, /do_idle\+0x31\/0x[0-9a-f]+: hlt cannot be executed out of line/);
  assert.is(hlt.probes.length, 0, 'the event is not created');
});

test('without canProbe, a probe at an offset is a programming error, not a silent accept', () => {
  assert.throws(() => events(false).write('p:b vfs_read+5\n'), /canProbe/);
  assert.throws(() => events(false).write('p:k ktime_get\n'), /canProbe/, 'an entry without an mcount site is an int3 probe: its instruction is judged');
  assert.ok(events(false).write('p:v vfs_read\n') > 0, 'an mcount site needs no decoder (ftrace-based)');
});

test('lines already checked on this image replay without the decoder', () => {
  const trusted = new Set(['p:kprobes/d vfs_read+5']);
  const ev = new KprobeEvents({ resolver: imageResolver(img), backend: checkBackend(img, undefined, trusted), now: () => 0n });
  assert.ok(ev.write('p:d vfs_read+5\n') > 0);
  assert.throws(() => ev.write('p:e vfs_read+5\n'), /canProbe/);
});

test.run();
