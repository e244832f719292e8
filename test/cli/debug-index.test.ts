// The persistent debug-info index: results with the index, without it (KTRACE_NO_CACHE=1) and through
// a damaged, stale or unwritable cache are identical; a truncated image is a one-line error. On the real
// Debian vmlinux (when scripts/real-vmlinux.sh has fetched it) the index and the index-less scan agree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE } from '../elf/fixture.js';
import { ktrace, MAIN, tempDir, TEST_STATE } from './run.js';
import { readCache, imageKey } from '../../src/cache.js';
import { loadImage } from '../../src/cli/image.js';
import { buildIndex, openDwarf } from '../../src/debuginfo/open.js';
import { loadIndex } from '../../src/debuginfo/index-cache.js';
import { perfSpecLines } from '../../src/trace/perf-probe/spec-compiler.js';
import { Image } from '../../src/elf/image.js';
import { ElfError } from '../../src/elf/errors.js';
import { FileSource } from '../../src/elf/source.js';
import { availableVars, formatAvailableVars, parseProbeSpec } from '../../src/trace/perf-probe/index.js';
import { realVmlinux } from '../../bench/sections/real.js';

const QUERIES: string[][] = [
  ['vars', 'vfs_read'], ['vars', 'vfs_read:3'], ['vars', 'rw_verify_area%return'], ['vars', 'read_write.c:40'],
  ['add', '-D', 'vfs_read count file->f_pos'], ['add', '-D', 'kernel_clone $params'], ['line', 'vfs_read'],
  ['line', 'read_write.c:20-40'], ['funcs', 'vfs_*'], ['disasm', 'vfs_read'], ['why', 'vfs_read'],
];

const reference = new Map<string, string>();
function expected(q: string[], image = FIXTURE): string {
  const k = `${image}\0${q.join('\0')}`;
  if (!reference.has(k)) {
    const r = ktrace(['-k', image, ...q].slice(2 * +(image === FIXTURE)), { KTRACE_NO_CACHE: '1' });
    reference.set(k, `${r.code}\n${r.stdout}\n${r.stderr}`);
  }
  return reference.get(k)!;
}
function got(q: string[], env: Record<string, string>, image = FIXTURE): string {
  const r = ktrace(image === FIXTURE ? q : ['-k', image, ...q], env);
  return `${r.code}\n${r.stdout}\n${r.stderr}`;
}
const indexFiles = (cache: string) => { try { return readdirSync(join(cache, 'ktrace', 'index')).filter((n) => /\.dwarf-\d+$/.test(n)); } catch { return []; } };

test('with and without the index: identical output; the first query writes the index', () => {
  const cache = tempDir('ktrace-cache-');
  const env = { XDG_CACHE_HOME: cache };
  for (const q of QUERIES) assert.is(got(q, env), expected(q), q.join(' '));
  assert.is(indexFiles(cache).length, 1, 'index written');
  for (const q of QUERIES) assert.is(got(q, env), expected(q), `${q.join(' ')} (index warm)`);
});

test('a garbage or truncated index is rebuilt, never trusted', () => {
  const cache = tempDir('ktrace-cache-');
  const env = { XDG_CACHE_HOME: cache };
  assert.is(got(QUERIES[0]!, env), expected(QUERIES[0]!));
  const [name] = indexFiles(cache);
  const file = join(cache, 'ktrace', 'index', name!);
  const good = readFileSync(file);
  for (const bad of [Buffer.from('garbage'), good.subarray(0, good.length >> 1), Buffer.concat([good, Buffer.from('x')])]) {
    writeFileSync(file, bad);
    for (const q of QUERIES.slice(0, 2)) assert.is(got(q, env), expected(q), q.join(' '));
    assert.ok(readCache('index', name!, imageKey(FIXTURE), { ...process.env, XDG_CACHE_HOME: cache }), 'rebuilt and valid');
  }
});

test('an unwritable cache directory: the same answers, no error', () => {
  const dir = tempDir('ktrace-nocache-');
  const file = join(dir, 'not-a-dir');
  writeFileSync(file, 'x');
  for (const q of QUERIES.slice(0, 6)) assert.is(got(q, { XDG_CACHE_HOME: file }), expected(q), q.join(' '));
});

test('two processes building the index at once: both answer, the index is valid', async () => {
  const cache = tempDir('ktrace-cache-');
  const one = () => new Promise<string>((resolve) => {
    const c = spawn(process.execPath, [MAIN, '-k', FIXTURE, 'vars', 'vfs_read'], { env: { ...process.env, XDG_CACHE_HOME: cache, KTRACE_STATE: TEST_STATE } });
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.on('close', (code) => resolve(`${code}\n${out}`));
  });
  const all = await Promise.all([one(), one(), one()]);
  const r = ktrace(['vars', 'vfs_read'], { KTRACE_NO_CACHE: '1' });
  for (const x of all) assert.is(x, `${r.code}\n${r.stdout}`);
  const [name] = indexFiles(cache);
  assert.ok(readCache('index', name!, imageKey(FIXTURE), { ...process.env, XDG_CACHE_HOME: cache }));
});

test('a truncated image is a one-line error, from the CLI and from a file that shrinks under the reader', () => {
  const dir = tempDir('ktrace-trunc-');
  const whole = readFileSync(FIXTURE);
  for (const cut of [100, whole.length >> 1, whole.length - 64]) {
    const p = join(dir, `vmlinux-${cut}`);
    writeFileSync(p, whole.subarray(0, cut));
    for (const q of cut === 100 ? [['funcs']] : [['vars', 'vfs_read'], ['disasm', 'vfs_read']]) {
      const r = ktrace(['-k', p, ...q], { XDG_CACHE_HOME: dir });
      assert.is(r.code, 1, `${cut} ${q.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^ktrace: .*(truncated|outside the file)/);
      assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  }
  // The real image cut short, read through a source that reports the shorter size.
  const real = realVmlinux();
  if (!real) { console.log('SKIP truncated real vmlinux: not in the cache (scripts/real-vmlinux.sh)'); return; }
  const src = new FileSource(real);
  for (const size of [1 << 20, Math.floor(src.size / 2), src.size - 4096]) {
    const cut = { size, path: real, read: (o: number, l: number) => { if (o + l > size) throw new ElfError('outside the file'); return src.read(o, l); } };
    assert.throws(() => Image.load(cut), (e: unknown) => e instanceof ElfError && /truncated|outside the file/.test((e as Error).message));
  }
});

test('real vmlinux: the index and the index-less scan give the same answers', () => {
  const real = realVmlinux();
  if (!real) { console.log('SKIP real vmlinux index test: not in the cache (scripts/real-vmlinux.sh fetches it)'); return; }
  const cache = tempDir('ktrace-cache-');
  const env = { ...process.env, XDG_CACHE_HOME: cache };
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = cache;
  process.env.KTRACE_INDEX_BACKGROUND = '0';
  try {
    // The default run checks the tutorial function; KTRACE_LONG=1 a few more, an inline helper included.
    const specs = process.env.KTRACE_LONG ? ['vfs_read', 'do_sys_openat2', 'kernel_clone', 'tcp_sendmsg', 'get_current', 'vfs_read%return'] : ['vfs_read'];
    const run = () => {
      const img = loadImage(real);
      const info = openDwarf(img, real);
      return specs.map((s) => {
        const pp = parseProbeSpec([s]);
        if (!pp.ok) return pp.reason;
        const v = availableVars(info.dwarf, pp.value.point);
        return v.ok ? formatAvailableVars(v.value) : v.reason;
      }).join('\n') + perfSpecLines(info, img, real, ['vfs_read count file->f_pos'], { taken: () => false, force: false, command: 'add' }).join('\n');
    };
    const scan = run();
    assert.match(scan, /Available variables at vfs_read/);
    buildIndex(loadImage(real), real);
    assert.ok(loadIndex(loadImage(real), real, loadImage(real).sectionByName('.debug_info')!.size, env), 'index built');
    assert.is(run(), scan);
  } finally {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME; else process.env.XDG_CACHE_HOME = saved;
    delete process.env.KTRACE_INDEX_BACKGROUND;
  }
});

test.run();
