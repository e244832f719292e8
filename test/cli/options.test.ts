import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { resolveKernel } from '../../src/cli/options.js';
import { DEFAULT_VMLINUX } from '../../src/paths.js';
import { LINUX_FIXTURE_DIR } from '../../src/kernel/linux/bundle.js';
import { ktrace, MAIN } from './run.js';
import { spawnSync } from 'node:child_process';

test('-k mini is the miniature kernel; any other value but linux is a path', async () => {
  assert.is(await resolveKernel('mini'), DEFAULT_VMLINUX);
  assert.is(await resolveKernel('./linux'), './linux');
  assert.is(await resolveKernel('/x/vmlinux'), '/x/vmlinux');
});

test('-k mini gives the default image\'s output, on the fast path and through yargs', () => {
  const want = ktrace(['funcs', 'vfs_*'], {}, true);
  assert.is(want.code, 0);
  for (const fast of ['1', '0']) {
    const got = ktrace(['-k', 'mini', 'funcs', 'vfs_*'], { KTRACE_FASTARGS: fast }, true);
    assert.is(got.stdout, want.stdout, `KTRACE_FASTARGS=${fast}`);
  }
});

const built = existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'));
test('-k linux: static commands work, run refuses more than one CPU in one line', () => {
  if (!built) {
    console.log('SKIP fixtures/linux/vmlinux.br not built yet (fixtures/linux/build.sh): checking the one-line error instead');
    const r = ktrace(['-k', 'linux', 'funcs', 'vfs_read'], {}, true);
    assert.is(r.code, 1);
    assert.match(r.stderr, /^ktrace: -k linux: .*BUILD-INFO: No such file or directory \(build it with fixtures\/linux\/build\.sh\)\n$/);
    return;
  }
  const f = ktrace(['-k', 'linux', 'funcs', 'vfs_read'], {}, true);
  assert.is(f.code, 0, f.stderr);
  assert.is(f.stdout, 'vfs_read\n');
  for (const fast of ['1', '0']) {
    const r = ktrace(['-k', 'linux', 'run', 'cat', '--cpus', '5'], { KTRACE_FASTARGS: fast }, true);
    assert.is(r.code, 2);
    assert.is(r.stderr, 'ktrace: run: real Linux runs on 1 to 4 CPUs (its CONFIG_NR_CPUS)\n');
  }
});

test('--color: never when piped (auto), always on request, NO_COLOR on a terminal; a bad value is a usage error', () => {
  const args = ['run', 'cat', '-a', 'vfs_read count=%dx:u64', '--hist', 'count', '--summary', '--no-console', '--no-timing'];
  const piped = ktrace(args);
  assert.is(piped.code, 0, piped.stderr);
  assert.not.match(piped.stdout, /\x1b\[/);
  const always = ktrace(['--color=always', ...args]);
  assert.match(always.stdout, /\x1b\[36mprobe:vfs_read/);
  assert.match(always.stdout, /\|\x1b\[32m@+/);
  assert.is(always.stdout.replace(/\x1b\[[0-9;]*m/g, ''), piped.stdout);
  const bad = ktrace(['--color', 'sometimes', 'funcs']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--color sometimes: expected never, always or auto/);
  // A terminal (script(1) gives the command a pty): colour unless NO_COLOR or --color=never.
  const sh = spawnSync('script', ['--version'], { encoding: 'utf8' });
  if (sh.status !== 0) { console.log('SKIP --color on a terminal: script(1) is not installed'); return; }
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (k !== 'NO_COLOR' && k !== 'FORCE_COLOR' && v !== undefined) clean[k] = v;
  assert.match(spawnSync('script', ['-qec', `'${process.execPath}' '${MAIN}' disasm nope_missing`, '/dev/null'], { encoding: 'utf8', env: clean }).stdout, /\x1b\[31mktrace: disasm: no symbol/);
  assert.not.match(spawnSync('script', ['-qec', `'${process.execPath}' '${MAIN}' disasm nope_missing`, '/dev/null'], { encoding: 'utf8', env: { ...clean, NO_COLOR: '1' } }).stdout, /\x1b\[/);
  assert.not.match(spawnSync('script', ['-qec', `'${process.execPath}' '${MAIN}' --color=never disasm nope_missing`, '/dev/null'], { encoding: 'utf8', env: clean }).stdout, /\x1b\[/);
});

test.run();
