// Linux's task layout (src/kernel/linux/task-layout.ts): the reader kernel/task-layout.ts uses once this
// module is imported (whoever boots Linux imports it, so that a miniature run loads no DWARF reader). In a
// process that has not imported it, a Linux image's layout is a clear error; the miniature's needs nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Image } from '../../../src/elf/image.js';
import { bundledLinuxPath, LINUX_FIXTURE_DIR } from '../../../src/kernel/linux/bundle.js';
import { MINI_TASK_LAYOUT, taskLayout } from '../../../src/kernel/task-layout.js';
import { DEFAULT_VMLINUX } from '../../../src/paths.js';

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

test.run();
