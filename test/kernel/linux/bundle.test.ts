import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, constants as z } from 'node:zlib';
import { BUNDLE_BUILDER, BundleError, bootRefusal, bundledLinuxPath, isLinuxImage, linuxBanner, linuxBuildInfo, LINUX_FIXTURE_DIR } from '../../../src/kernel/linux/bundle.js';
import { cachePath } from '../../../src/cache.js';
import { Image } from '../../../src/elf/image.js';
import { FIXTURE } from '../../elf/fixture.js';

// A bundle built here from the miniature kernel: the expansion logic does not depend on the image.
const tmp = mkdtempSync(join(tmpdir(), 'ktrace-bundle-'));
const mini = readFileSync(FIXTURE);
const sha = createHash('sha256').update(mini).digest('hex');
function bundle(name: string, elf: Buffer, info = `package: linux-source-6.1 6.1.192-3\nkernel: 6.1.192\nvmlinux sha256: ${sha} (${mini.length} bytes)\n`): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vmlinux.br'), brotliCompressSync(elf, { params: { [z.BROTLI_PARAM_QUALITY]: 1 } }));
  writeFileSync(join(dir, 'BUILD-INFO'), info);
  return dir;
}
const env = { XDG_CACHE_HOME: join(tmp, 'xdg') } as NodeJS.ProcessEnv;

test('expands into the cache once, named by the recorded SHA-256, byte-identical', () => {
  const dir = bundle('good', mini);
  const p = bundledLinuxPath(env, dir);
  assert.is(p, cachePath('kernel', `linux-6.1.192-${sha.slice(0, 16)}.vmlinux`, env));
  assert.ok(readFileSync(p).equals(mini));
  const before = statSync(p).mtimeMs;
  writeFileSync(join(dir, 'vmlinux.br'), 'not brotli'); // a second use does not read the archive
  assert.is(bundledLinuxPath(env, dir), p);
  assert.is(statSync(p).mtimeMs, before);
});

test('a truncated expansion in the cache is replaced', () => {
  const dir = bundle('trunc', mini);
  const e = { XDG_CACHE_HOME: join(tmp, 'xdg2') } as NodeJS.ProcessEnv;
  const p = bundledLinuxPath(e, dir);
  writeFileSync(p, mini.subarray(0, 1000));
  assert.is(bundledLinuxPath(e, dir), p);
  assert.ok(readFileSync(p).equals(mini));
});

test('an archive that does not match BUILD-INFO, or a missing one, is a one-line BundleError', () => {
  const other = Buffer.from(mini);
  other[100] ^= 1;
  const dir = bundle('bad', other);
  const e = { XDG_CACHE_HOME: join(tmp, 'xdg3') } as NodeJS.ProcessEnv;
  assert.throws(() => bundledLinuxPath(e, dir), (err: Error) => err instanceof BundleError && /BUILD-INFO says/.test(err.message) && !err.message.includes('\n'));
  assert.throws(() => bundledLinuxPath(e, join(tmp, 'none')), (err: Error) => err instanceof BundleError && /No such file/.test(err.message));
  const garbled = bundle('garbled', mini, 'package: x\n');
  assert.throws(() => linuxBuildInfo(garbled), /malformed/);
});

test('KTRACE_NO_CACHE=1 expands into a temporary file, same bytes, nothing in the cache', () => {
  const dir = bundle('nocache', mini);
  const e = { XDG_CACHE_HOME: join(tmp, 'xdg4'), KTRACE_NO_CACHE: '1' } as NodeJS.ProcessEnv;
  const p = bundledLinuxPath(e, dir);
  assert.ok(p.startsWith(tmpdir()));
  assert.ok(readFileSync(p).equals(mini));
  assert.not.ok(existsSync(join(tmp, 'xdg4')));
});

test('the miniature kernel is no real Linux image, and boots', () => {
  const image = Image.load(mini);
  assert.not.ok(isLinuxImage(image));
  assert.is(bootRefusal(image), undefined);
});

const committed = existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'));
test('the committed Linux 6.1 expands, matches BUILD-INFO, and is recognised as real Linux', () => {
  if (!committed) { console.log('SKIP fixtures/linux/vmlinux.br not built yet (fixtures/linux/build.sh)'); return; }
  const info = linuxBuildInfo();
  assert.match(info.package, /^linux-source-6\.1 6\.1\./);
  const p = bundledLinuxPath(env);
  assert.is(statSync(p).size, info.size);
  const image = Image.load(readFileSync(p));
  assert.ok(isLinuxImage(image));
  assert.ok(linuxBanner(image)!.startsWith(`Linux version ${info.release} (${BUNDLE_BUILDER})`), linuxBanner(image));
  assert.is(bootRefusal(image), undefined, 'real Linux boots');
});

test('a real Linux that fixtures/linux/build.sh did not build is refused in one line naming its banner', () => {
  if (!committed) { console.log('SKIP fixtures/linux/vmlinux.br not built yet (fixtures/linux/build.sh)'); return; }
  // The bundled kernel with another builder in its banner, as a distribution's build has.
  const b = Buffer.from(readFileSync(bundledLinuxPath(env)));
  const from = Buffer.from(`(${BUNDLE_BUILDER})`), to = Buffer.from('(debian@buildd)');
  assert.is(from.length, to.length);
  let n = 0;
  for (let i = b.indexOf(from); i >= 0; i = b.indexOf(from, i + 1), n++) to.copy(b, i);
  assert.ok(n >= 1);
  const image = Image.load(b);
  assert.ok(isLinuxImage(image));
  const why = bootRefusal(image)!;
  assert.ok(why, 'refused');
  assert.is(why.split('\n').length, 1);
  assert.match(why, /^this is Linux 6\.1\.\d+ \(debian@buildd\), not a kernel built by fixtures\/linux\/build\.sh: .*-k linux.*the static commands funcs, vars, line, disasm, add, why and fs cat work on this image$/);
});

test.run();
