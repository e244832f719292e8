// The workload's user memory on real Linux (src/kernel/linux/user.ts): boot maps PREMAP (the string
// pool's first pages and arena 0) at /init's first host calls, so it is in the boot snapshot and a
// script that stays inside it makes no mmap of its own; memory beyond it is mapped as before.
// linux-snapshots: 1 (the boot snapshots this file restores: scripts/test.mjs makes them first)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Image } from '../../../src/elf/image.js';
import { parseWorkload } from '../../../src/kernel/workload/parser.js';
import { runScript, type RunResult } from '../../../src/kernel/session.js';
import { bundledLinuxPath, LINUX_FIXTURE_DIR } from '../../../src/kernel/linux/bundle.js';
import { LinuxPlatform } from '../../../src/kernel/linux/platform.js';
import { NR_MMAP, PREMAP } from '../../../src/kernel/linux/user.js';
import { USER_ARENA_BASE, USER_ARENA_SIZE, USER_STACK_SIZE, USER_STRINGS } from '../../../src/kernel/contract.js';

const built = existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'));
const image = built ? Image.load(readFileSync(bundledLinuxPath())) : undefined;

/** Run `src` (from the boot snapshot); the host's own mmaps for the script (their [start, end)) are collected. */
function run(src: string): { r: RunResult; mmaps: [number, number][] } {
  const mmaps: [number, number][] = [];
  const r = runScript(image!, parseWorkload('t.wl', src), {
    cpus: 1, seed: 1, maxInsns: 400_000_000,
    attach: (p) => {
      const user = (p as LinuxPlatform).user;
      const hostCall = user.hostCall.bind(user);
      user.hostCall = (cpu) => {
        const c = hostCall(cpu);
        if (!('error' in c) && c.nr === NR_MMAP) mmaps.push([c.args[0], c.args[0] + c.args[1]]);
        return c;
      };
    },
  });
  return { r, mmaps };
}

test('PREMAP covers the memory the bundled scripts start with: the string pool\'s first pages and all of arena 0', () => {
  const covers = (a: number, b: number) => PREMAP.some(([s, e]) => a >= s && b <= e);
  assert.ok(covers(USER_STRINGS, USER_STRINGS + 4096));
  assert.ok(covers(USER_ARENA_BASE, USER_ARENA_BASE + USER_ARENA_SIZE)); // heap, then the main task's stack
  for (const [s, e] of PREMAP) assert.ok(s % 4096 === 0 && e % 4096 === 0 && e > s);
});

test('a script inside PREMAP makes no mmap of its own: its strings, buffers and stack were mapped at boot', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  const { r, mmaps } = run([
    'b = buf 128', 'fd = openat "/etc/passwd"', 'n = read fd b', 'expect b == "root:x:0:0"', 'write STDOUT b n', 'close fd',
  ].join('\n') + '\n');
  assert.equal(r.failures, []);
  assert.equal(r.end, { kind: 'poweroff', status: 0 });
  assert.match(r.console, /root:x:0:0/);
  assert.equal(mmaps, []);
});

test('memory beyond PREMAP is still mapped by the host when the script needs it: a spawned task\'s stack', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  const { r, mmaps } = run(['spawn 1 {', '  p = getpid', '  expect p > 1', '}', 'w = wait4', 'expect w > 1'].join('\n') + '\n');
  assert.equal(r.failures, []);
  assert.equal(r.end, { kind: 'poweroff', status: 0 });
  const arena1 = USER_ARENA_BASE + USER_ARENA_SIZE;
  assert.equal(mmaps, [[arena1 + USER_ARENA_SIZE - USER_STACK_SIZE, arena1 + USER_ARENA_SIZE]]);
});

test.run();
