// Linux's task layout (src/kernel/linux/task-layout.ts): the reader kernel/task-layout.ts uses once this
// module is imported (whoever boots Linux imports it, so that a miniature run loads no DWARF reader). In a
// process that has not imported it, a Linux image's layout is a clear error; the miniature's needs nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Image } from '../../../src/elf/image.js';
import { bundledLinuxPath, LINUX_FIXTURE_DIR } from '../../../src/kernel/linux/bundle.js';
import { MINI_TASK_LAYOUT, taskLayout } from '../../../src/kernel/task-layout.js';
import { DEFAULT_VMLINUX } from '../../../src/paths.js';
import { openImage } from '../../../src/elf/open.js';
import { linuxTaskLayout } from '../../../src/kernel/linux/task-layout.js';
import { readCache, writeCache } from '../../../src/cache.js';

const built = existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'));

test('without the reader: the miniature has its fixed layout, a Linux image is a one-line error', () => {
  if (!built) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  const mod = (p: string) => JSON.stringify(new URL(p, import.meta.url).href);
  const child = `
    import { readFileSync } from 'node:fs';
    const { Image } = await import(${mod('../../../src/elf/image.js')});
    const { taskLayout } = await import(${mod('../../../src/kernel/task-layout.js')});
    const mini = taskLayout(Image.load(readFileSync(${JSON.stringify(DEFAULT_VMLINUX)})));
    let err = '';
    try { taskLayout(Image.load(readFileSync(${JSON.stringify(bundledLinuxPath())}))); } catch (e) { err = e.constructor.name + ': ' + e.message; }
    console.log(JSON.stringify({ pid: mini.pid, err }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { pid: number; err: string };
  assert.is(got.pid, MINI_TASK_LAYOUT.pid);
  assert.match(got.err, /^TaskLayoutError: the Linux task layout reader is not loaded/);
});

test('imported, the reader gives Linux 6.1\'s task_struct offsets from its DWARF', async () => {
  if (!built) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  await import('../../../src/kernel/linux/task-layout.js');
  const image = Image.load(readFileSync(bundledLinuxPath()));
  const l = taskLayout(image);
  assert.is(l.current, image.symbolAddr('current_task'));
  assert.is(l.commLen, 16); // TASK_COMM_LEN
  assert.ok(l.pid > 0 && l.comm > l.pid && l.stack > 0 && l.state >= 0, JSON.stringify(l));
  assert.ok(l.preemptPerCpu && l.preemptCount === image.symbolAddr('__preempt_count'));
});

test('the layout of an image file is kept in the cache and taken from it; a corrupt entry is read again', () => {
  if (!built) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  const cache = mkdtempSync(join(tmpdir(), 'ktrace-layout-'));
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = cache;
  delete process.env.KTRACE_NO_CACHE;
  try {
    const path = bundledLinuxPath();
    const fromDwarf = linuxTaskLayout(Image.load(readFileSync(path))); // no file: nothing cached
    assert.is(existsSync(join(cache, 'ktrace', 'index')), false);
    assert.equal(linuxTaskLayout(openImage(path)), fromDwarf);
    const dir = join(cache, 'ktrace', 'index');
    const names = readdirSync(dir).filter((n) => n.includes('.task-layout-'));
    assert.is(names.length, 1);
    // a later open takes it from the entry (written here with another pid offset: that is what it gives)
    const file = join(dir, names[0]);
    const good = readFileSync(file);
    const meta = JSON.parse(good.toString('utf8', 12, 12 + good.readUInt32LE(8))) as { key: string };
    const fields = JSON.parse(readCache('index', names[0], meta.key)!.toString('utf8')) as number[];
    assert.is(fields[1], fromDwarf.pid);
    writeCache('index', names[0], meta.key, Buffer.from(JSON.stringify(fields.map((v, i) => (i === 1 ? v + 8 : v)))));
    assert.is(linuxTaskLayout(openImage(path)).pid, fromDwarf.pid + 8);
    writeFileSync(file, good);
    // a corrupt entry reads as absent: the layout is read from the DWARF again and the entry rewritten
    const bad = Buffer.from(good);
    bad[bad.length - 3] ^= 0x55;
    writeFileSync(file, bad);
    assert.equal(linuxTaskLayout(openImage(path)), fromDwarf);
    assert.ok(readFileSync(file).equals(good), 'rewritten as it was');
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME; else process.env.XDG_CACHE_HOME = saved;
    rmSync(cache, { recursive: true, force: true });
  }
});

test.run();
