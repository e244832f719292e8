import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBootableImage, loadImage } from '../../src/cli/image.js';
import { CliError } from '../../src/cli/errors.js';
import { FIXTURE } from '../elf/fixture.js';
import { ktrace, freshState } from './run.js';
import { realVmlinux } from '../../bench/sections/real.js';

const tmp = mkdtempSync(join(tmpdir(), 'ktrace-img-'));

function err(path: string): CliError {
  try { loadImage(path); } catch (e) { assert.instance(e, CliError); return e as CliError; }
  throw new Error('expected CliError');
}

test('loads the fixture', () => {
  assert.ok(loadImage(FIXTURE).functions.length > 100);
});

test('openImage\'s ElfErrors (test/elf/open.test.ts) become CliErrors with the same line, exit 1', () => {
  const p = join(tmp, 'text');
  writeFileSync(p, 'not elf');
  assert.is(err(p).message, `${p}: not an ELF file (bad magic)`);
  assert.is(err(p).exitCode, 1);
});

function bootErr(path: string): CliError {
  try { loadBootableImage(path, 'run'); } catch (e) { assert.instance(e, CliError); return e as CliError; }
  throw new Error('expected CliError');
}

test('the fixture kernel is bootable', () => {
  assert.ok(loadBootableImage(FIXTURE, 'run').symbolAddr('boot_params') !== undefined);
});

test('an ELF with symbols that is no ktrace kernel: one line saying what it lacks', () => {
  // The fixture with its boot_params and secondary_startup_64 symbols renamed, as a PIE (ET_DYN).
  const b = Buffer.from(readFileSync(FIXTURE));
  for (const name of ['boot_params\0', 'secondary_startup_64\0']) {
    for (let i = b.indexOf(name); i >= 0; i = b.indexOf(name, i + 1)) b[i] = 'X'.charCodeAt(0);
  }
  b.writeUInt16LE(3, 16);
  const p = join(tmp, 'notkernel');
  writeFileSync(p, b);
  assert.ok(loadImage(p).functions.length > 100, 'it still loads as an image (funcs, disasm work)');
  const e = bootErr(p);
  assert.is(e.message, `${p}: not a bootable ktrace kernel: it is a shared object or PIE (ET_DYN), not an executable (ET_EXEC); it has no boot_params symbol; it has no secondary_startup_64 symbol`);
  assert.is(e.message.split('\n').length, 1);
  // ktrace run says so on one line, exit 1, before booting anything.
  const r = ktrace(['run', '-k', p, '--summary'], {}, true);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.is(r.stderr, `ktrace: ${e.message}\n`);
});

test('a user-space program built with gcc is refused before boot', () => {
  if (spawnSync('gcc', ['--version']).status !== 0) { console.log('SKIP gcc missing: the user-space ELF case of loadBootableImage'); return; }
  const c = join(tmp, 'a.c'), out = join(tmp, 'a.out');
  writeFileSync(c, 'int boot_params[100];\nint main(void) { return 0; }\n');
  const r = spawnSync('gcc', ['-no-pie', '-g', c, '-o', out], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  // It has a boot_params, but it is linked at 0x400000 (user space) and has no secondary_startup_64.
  assert.match(bootErr(out).message, /^\S+: not a bootable ktrace kernel: it is linked at 0x400000, in user space, not in the kernel half; it has no secondary_startup_64 symbol$/);
});

// Debian's cloud kernel (scripts/real-vmlinux.sh puts it in the cache): real Linux, but not the
// configuration ktrace's platform emulates. It was once booted, and ran out of host memory minutes later.
test('ktrace run on a distribution Linux refuses in one line, before booting', () => {
  const real = realVmlinux();
  if (!real) { console.log('SKIP run on the real vmlinux: not in the cache (scripts/real-vmlinux.sh fetches it)'); return; }
  const r = ktrace(['run', '-k', real, '--summary'], {}, true);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.match(r.stderr, /^ktrace: run: this is Linux 6\.1\.\S+ \(debian-kernel@lists\.debian\.org\), not a kernel built by fixtures\/linux\/build\.sh: .*\n$/);
  assert.is(r.stderr.split('\n').length, 2);
  // add (without -D) still defines the event there; its hint names what works instead of `ktrace run`.
  const a = ktrace(['add', '-k', real, 'vfs_read'], { KTRACE_STATE: freshState() }, true);
  assert.is(a.code, 0, a.stderr);
  assert.match(a.stdout, /^  probe:vfs_read +\(on vfs_read\)$/m);
  assert.ok(!a.stdout.includes('ktrace run -e'), a.stdout);
  assert.match(a.stdout, /does not boot in ktrace \(`ktrace run` refuses it\)/);
});

test.run();
