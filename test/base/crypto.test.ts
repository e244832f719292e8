// src/base/crypto.ts: node:crypto's functions, the module loaded only when one is first called; and
// the warm static queries on a real (build-id keyed) image, which must not load it at all.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as nodeCrypto from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createHash, randomBytes } from '../../src/base/crypto.js';
import { realVmlinux } from '../../bench/sections/real.js';
import { ROOT } from '../../src/paths.js';

const here = dirname(fileURLToPath(import.meta.url));

test("the same digests as node:crypto's; random bytes of the size asked", () => {
  for (const alg of ['sha256', 'sha1']) {
    assert.is(createHash(alg).update('ktrace').update(Buffer.from([0, 1, 2])).digest('hex'),
      nodeCrypto.createHash(alg).update('ktrace').update(Buffer.from([0, 1, 2])).digest('hex'), alg);
  }
  const r = randomBytes(6);
  assert.is(r.length, 6);
  assert.is.not(r.toString('hex'), randomBytes(6).toString('hex'));
});

test('node:crypto loads on the first call, not with the module', () => {
  const url = pathToFileURL(join(here, '../../src/base/crypto.js')).href;
  const script = `const loaded = () => process.moduleLoadList.some((m) => m === 'NativeModule crypto');
    const m = await import(${JSON.stringify(url)});
    const before = loaded();
    m.createHash('sha256');
    console.log(JSON.stringify([before, loaded()]));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(JSON.parse(out), [false, true]);
});

test('real vmlinux: static queries, cold and warm, load no node:crypto (a build-id keys the image)', () => {
  const real = realVmlinux();
  if (!real) { console.log('SKIP crypto real vmlinux: not in the cache (scripts/real-vmlinux.sh fetches it)'); return; }
  const dir = mkdtempSync(join(tmpdir(), 'ktrace-crypto-'));
  const env = { ...process.env, XDG_CACHE_HOME: join(dir, 'xdg'), KTRACE_NO_CACHE: '', KTRACE_INDEX_BACKGROUND: '0' };
  const report = join(dir, 'report.cjs');
  writeFileSync(report, `process.on('exit', () => process.stderr.write('CRYPTO ' + process.moduleLoadList.includes('NativeModule crypto') + '\\n'));\n`);
  const queries = [['vars', 'vfs_read'], ['funcs', 'vfs_*'], ['add', '-D', 'vfs_read count'], ['disasm', 'vfs_read']];
  const check = (what: string) => {
    for (const args of process.env.KTRACE_LONG ? queries : queries.slice(0, 2)) {
      const r = spawnSync(process.execPath, ['-r', report, join(ROOT, 'bin', 'ktrace'), '-k', real, ...args], { env, encoding: 'utf8' });
      assert.is(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^CRYPTO false$/m, `${what} ${args.join(' ')}`);
    }
  };
  check('cold');
  // Warm (the index built: seconds of CPU) under KTRACE_LONG only.
  if (!process.env.KTRACE_LONG) return;
  assert.is(spawnSync(process.execPath, [join(ROOT, 'dist', 'src', 'cli', 'index-build.js'), real], { env }).status, 0);
  check('warm');
});

test.run();
