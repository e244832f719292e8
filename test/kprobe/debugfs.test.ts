// The kprobes debugfs files rendered from a manager on the booted fixture (kernel/kprobes.c formats).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hex16 } from '../../src/base/addr.js';
import { readFileSync } from 'node:fs';
import { Image } from '../../src/elf/image.js';
import { DEFAULT_VMLINUX } from '../../src/paths.js';
import { Platform } from '../../src/kernel/platform.js';
import {
  KprobeManager, KPROBE_FLAG_DISABLED, renderKprobeList, renderKprobeBlacklist, renderKprobesEnabled, writeKprobesEnabled,
  kstrtobool, kprobeHash, type Kprobe,
} from '../../src/kprobe/index.js';

const image = Image.load(readFileSync(DEFAULT_VMLINUX));
function manager(): KprobeManager {
  const pl = new Platform(image, { cpus: 1, seed: 1 });
  pl.boot({ entry: 0x400000, stackTop: 0x7ff000 });
  return KprobeManager.attach(pl);
}

test('list: report_probe lines, "%px  %s  %s+0x%x  %s " then the tags', () => {
  const m = manager();
  const vr = image.lookupName('vfs_read')!;
  assert.is(m.registerKprobe({ symbolName: 'vfs_read', flags: KPROBE_FLAG_DISABLED }), 0);
  assert.is(renderKprobeList(m), `${hex16(vr)}  k  vfs_read+0x0    [DISABLED]\n`);
  assert.match(renderKprobeList(m), /^ffffffff[0-9a-f]{8}  k  vfs_read\+0x0    \[DISABLED\]\n$/);
  const kp: Kprobe = { symbolName: 'kprobe_target' };
  assert.is(m.registerKprobe(kp), 0);
  const lines = renderKprobeList(m).split('\n').filter(Boolean);
  assert.is(lines.length, 2);
  assert.ok(lines.includes(`${hex16(kp.addr!)}  k  kprobe_target+0x0    `), 'an enabled probe has no tag (trailing space kept)');
});

test('list order: kprobe_table buckets (hash_ptr, 6 bits) in order, newest first within a bucket', () => {
  const m = manager();
  const t = image.lookupName('kprobe_target')!;
  const s = image.lookupAddr(t)!;
  const offs: number[] = [];
  for (let off = 0; off < s.size; off++) if (m.registerKprobe({ addr: t + off }) === 0) offs.push(off);
  for (const name of ['vfs_read', 'ksys_read', 'do_syscall_64', 'pipe_read', 'kprobe_target2']) m.registerKprobe({ symbolName: name });
  const got = renderKprobeList(m).split('\n').filter(Boolean).map((l) => l.slice(0, 16));
  const buckets = got.map((h) => kprobeHash(Number(BigInt.asIntN(64, BigInt('0x' + h)))));
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i] >= buckets[i - 1], 'bucket order');
  assert.is(got.length, m.table.size);
  // hash_64(0, 6) is 0 and the top bits of the product decide the bucket
  assert.is(kprobeHash(0), 0);
  assert.is(kprobeHash(1), Number((0x61c8864680b583ebn) >> 58n));
});

test('list: offsets, [GONE] and aggregates list every child', () => {
  const m = manager();
  assert.is(m.registerKprobe({ symbolName: 'kprobe_target2', offset: 0 }), 0);
  assert.is(m.registerKprobe({ symbolName: 'kprobe_target2', offset: 0, postHandler: () => {} }), 0);
  const gone = { symbolName: 'init_test_probes' };
  assert.is(m.registerKprobe(gone), 0);
  m.freeInitMem();
  const list = renderKprobeList(m);
  assert.is(list.split('\n').filter((l) => l.includes('kprobe_target2+0x0')).length, 2);
  assert.match(list, /  k  init_test_probes\+0x0    \[GONE\]\n/);
});

test('blacklist: "0x%px-0x%px\\t%ps" for every entry, in the kernel list order', () => {
  const m = manager();
  const text = renderKprobeBlacklist(m);
  const lines = text.split('\n').filter(Boolean);
  assert.is(lines.length, image.kprobeBlacklist.length);
  for (const [i, l] of lines.entries()) {
    const e = image.kprobeBlacklist[i];
    assert.is(l, `0x${hex16(e.start)}-0x${hex16(e.end)}\t${e.name}`);
    assert.match(l, /^0xffffffff[0-9a-f]{8}-0xffffffff[0-9a-f]{8}\t\S+$/);
  }
  assert.ok(lines.some((l) => l.endsWith('\texc_int3')), 'the int3 handler itself is blacklisted');
});

test('enabled: reads 1/0, writes take kstrtobool text, others are -EINVAL', () => {
  const m = manager();
  const kp: Kprobe = { symbolName: 'kprobe_target' };
  assert.is(m.registerKprobe(kp), 0);
  assert.is(renderKprobesEnabled(m), '1\n');
  assert.is(writeKprobesEnabled(m, '0\n'), 0);
  assert.is(renderKprobesEnabled(m), '0\n');
  assert.is(m.machine.mem.read8(kp.addr!), image.read(kp.addr!, 1)![0]);
  assert.is(writeKprobesEnabled(m, 'maybe'), -22);
  assert.is(writeKprobesEnabled(m, ''), -22);
  assert.is(renderKprobesEnabled(m), '0\n', 'a rejected write changes nothing');
  assert.is(writeKprobesEnabled(m, 'on'), 0);
  assert.is(m.machine.mem.read8(kp.addr!), 0xcc);
  assert.equal(m.messages, ['kprobes: Kprobes globally disabled', 'kprobes: Kprobes globally enabled']);
  for (const [s, v] of [['1', true], ['y', true], ['Yes', true], ['t', true], ['on', true], ['0', false], ['n', false], ['F', false], ['off', false], ['o', undefined], ['2', undefined], ['x', undefined]] as const) {
    assert.is(kstrtobool(s), v, s);
  }
});

test.run();
