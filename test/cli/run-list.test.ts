// `ktrace run --show-list`: /sys/kernel/debug/kprobes/list as the run left the kernel ([GONE] once
// __init text was freed, [OPTIMIZED] once the optimizer ran), where `fs cat` shows a freshly booted one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ktrace, freshState, tempDir } from './run.js';
import { fixtureImage } from '../elf/fixture.js';

test('--show-list: a probe on freed __init text is [GONE] and a jump-optimizable one [OPTIMIZED] after the run', () => {
  const img = fixtureImage(), r = img.initRange!;
  // an __init function the boot runs (the kernel's own kprobe selftest hook), and an optimizable site
  const init = img.functions.find((f) => f.addr >= r.start && f.addr < r.end && f.name === 'kernel_init_freeable')!;
  assert.ok(init);
  const state = freshState();
  // __init text can only be probed before it is freed, as in the kernel (`add` refuses it): a handler
  // module registers before boot
  const mod = join(tempDir(), 'init.mjs');
  let hits = 0;
  writeFileSync(mod, `export const kprobes = [{ symbol_name: '${init.name}', pre_handler(p, regs, k) { k.printk('hit ' + p.symbol_name); } }];`);
  const run = ktrace(['run', 'cat', '--handlers', mod, '-a', 'p:probe/k kprobe_target+7', '--show-list', '--no-snapshot', '--summary'], { KTRACE_STATE: state });
  assert.is(run.code, 0, run.stderr);
  const list = run.stderr.slice(run.stderr.indexOf('/sys/kernel/debug/kprobes/list after the run:\n'));
  assert.match(list, new RegExp(`^[0-9a-f]{16}  k  ${init.name}\\+0x0    \\[GONE\\]`, 'm'));
  assert.match(list, /^[0-9a-f]{16}  k  kprobe_target\+0x7    \[OPTIMIZED\]$/m);
  hits = (run.stdout.match(new RegExp(`^hit ${init.name}$`, 'gm')) ?? []).length;
  assert.is(hits, 1, 'the __init function ran once, probed, before its text was freed');
  // `fs cat` shows the kernel booted but not run: the same probe is only registered there
  assert.is(ktrace(['add', 'p:probe/k kprobe_target+7'], { KTRACE_STATE: state }).code, 0);
  assert.is(ktrace(['disable', 'probe:k'], { KTRACE_STATE: state }).code, 0, 'add enables what it creates');
  const fresh = ktrace(['fs', 'cat', '/sys/kernel/debug/kprobes/list'], { KTRACE_STATE: state }).stdout;
  assert.match(fresh, /kprobe_target\+0x7    \[DISABLED\]$/m);
});

test.run();
