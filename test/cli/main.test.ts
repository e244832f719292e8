import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';
import { COMMANDS } from '../../src/cli/commands.js';
import { ktrace } from './run.js';
import { FIXTURE } from '../elf/fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'ktrace-cli-'));

test('--version prints package.json version', () => {
  const r = ktrace(['--version']);
  assert.is(r.code, 0);
  assert.is(r.stdout.trim(), JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
});

test('--help lists every command with examples', () => {
  const r = ktrace(['--help']);
  assert.is(r.code, 0);
  for (const c of COMMANDS) assert.match(r.stdout, new RegExp(`ktrace ${c.name}\\b`));
  assert.match(r.stdout, /Examples:/);
  assert.match(r.stdout, /-k, --vmlinux/);
  for (const c of COMMANDS) {
    const h = ktrace([c.name, '--help']);
    assert.is(h.code, 0, c.name);
    assert.match(h.stdout, /Examples:/, `${c.name} --help has examples`);
  }
});

test('usage errors: one line plus a hint, exit 2, no stack', () => {
  for (const args of [[], ['nosuchcmd'], ['funcs', '--nosuchflag'], ['disasm'], ['fs'], ['-k']]) {
    const r = ktrace(args);
    assert.is(r.code, 2, args.join(' '));
    const lines = r.stderr.trimEnd().split('\n');
    assert.is(lines.length, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0]!, /^ktrace: /);
    assert.not.match(r.stderr, /\n\s+at /);
  }
  assert.match(ktrace(['nosuchcmd']).stderr, /unknown command 'nosuchcmd'/);
});

test('bad ELF input: `ktrace: <file>: <message>`, exit 1, for every command', () => {
  const b = readFileSync(FIXTURE);
  const cases: [string, Uint8Array, RegExp][] = [
    ['text', new TextEncoder().encode('hello\n'), /not an ELF file/],
    ['truncated', b.subarray(0, 1000), /truncated/],
    ['elf32', (() => { const c = new Uint8Array(b); c[4] = 1; return c; })(), /32-bit/],
    ['aarch64', (() => { const c = new Uint8Array(b); c[18] = 183; c[19] = 0; return c; })(), /not an x86-64 ELF/],
  ];
  for (const [name, bytes, re] of cases) {
    const p = join(tmp, name);
    writeFileSync(p, bytes);
    for (const cmd of [['funcs'], ['disasm', 'vfs_read'], ['fs', 'cat', '/proc/kallsyms']]) {
      const r = ktrace(['-k', p, ...cmd]);
      assert.is(r.code, 1, `${name} ${cmd[0]}`);
      assert.is(r.stdout, '');
      assert.is(r.stderr.split('\n').length, 2, r.stderr);
      assert.ok(r.stderr.startsWith(`ktrace: ${p}: `), r.stderr);
      assert.match(r.stderr, re);
    }
  }
  const missing = ktrace(['-k', join(tmp, 'nope'), 'funcs']);
  assert.is(missing.code, 1);
  assert.is(missing.stderr, `ktrace: ${join(tmp, 'nope')}: No such file or directory\n`);
});

test('the stripped-image error', () => {
  // Make .symtab SHT_NULL, as strip would remove it.
  const b = new Uint8Array(readFileSync(FIXTURE));
  const dv = new DataView(b.buffer);
  const shoff = Number(dv.getBigUint64(40, true)), shnum = dv.getUint16(60, true);
  for (let i = 0; i < shnum; i++) if (dv.getUint32(shoff + i * 64 + 4, true) === 2) dv.setUint32(shoff + i * 64 + 4, 0, true);
  const p = join(tmp, 'stripped');
  writeFileSync(p, b);
  const r = ktrace(['-k', p, 'funcs']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^ktrace: .*stripped: no symbol table \(\.symtab\): the file is stripped/);
});

test('-k defaults to the bundled fixture', () => {
  const r = ktrace(['funcs', 'vfs_read'], {}, true);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'vfs_read\n');
});


// bin/ktrace runs the CommonJS form of the same modules (scripts/bundle-cli.mjs) when `npm run build`
// wrote it: every command must answer byte for byte as the ES modules do (KTRACE_BUNDLE=0), errors included.
test('bin/ktrace: the CommonJS loader and the ES modules give the same output, status and errors', () => {
  const bin = join(ROOT, 'bin', 'ktrace');
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'cli.cjs'))) { console.log('SKIP bin/ktrace loader: dist/cli.cjs not built (npm run build writes it)'); return; }
  const state = mkdtempSync(join(tmpdir(), 'ktrace-bin-state-'));
  const run = (args: string[], env: Record<string, string>) => spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, NO_COLOR: '1', KTRACE_STATE: state, KTRACE_DIST: 'dist', ...env },
  });
  // bin/ktrace takes the loader when it is newer than tsc's last compile (else the ES modules).
  if (statSync(join(dist, 'cli.cjs')).mtimeMs < statSync(join(dist, '.tsbuildinfo')).mtimeMs) {
    console.log('SKIP bin/ktrace loader: dist/cli.cjs is older than the last tsc compile (npm run build rewrites it)');
    return;
  }
  const cases: string[][] = [
    ['funcs'], ['funcs', 'vfs_*'], ['disasm', 'vfs_read'], ['vars', 'vfs_read'], ['vars', 'vfs_read', '--json'], ['line', 'vfs_read'],
    ['add', '-D', 'vfs_read count file->f_pos'], ['add', '-D', 'vfs_read%return $retval'], ['fs', 'cat', '/proc/kallsyms'],
    ['why', 'vfs_read'], ['-F', 'do_*'], ['-V', 'nosuch'], ['vars'], ['nosuch'], ['--version'], ['run', 'cat', '-a', 'vfs_read'],
    ['list'], ['-k', join(tmp, 'missing'), 'funcs'],
  ];
  for (const args of cases) {
    const a = run(args, {}), b = run(args, { KTRACE_BUNDLE: '0' });
    assert.is(a.status, b.status, `${args.join(' ')}: status`);
    assert.is(a.stdout, b.stdout, `${args.join(' ')}: stdout`);
    assert.is(a.stderr, b.stderr, `${args.join(' ')}: stderr`);
  }
});

// The loader keeps V8's code cache of the modules a command compiled (cache kind v8, one entry per
// command): the answers are the same with it, without it, and with a corrupt one, which is rewritten.
test('bin/ktrace: the V8 code cache changes no answer; a corrupt entry is ignored and rewritten', () => {
  const bin = join(ROOT, 'bin', 'ktrace');
  const dist = join(ROOT, 'dist');
  if (!existsSync(join(dist, 'cli.cjs')) || statSync(join(dist, 'cli.cjs')).mtimeMs < statSync(join(dist, '.tsbuildinfo')).mtimeMs) {
    console.log('SKIP bin/ktrace code cache: dist/cli.cjs not built or older than the last tsc compile (npm run build)');
    return;
  }
  const cache = mkdtempSync(join(tmpdir(), 'ktrace-v8-cache-'));
  const dir = join(cache, 'ktrace', 'v8');
  const run = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [bin, '-k', FIXTURE, ...args], {
    encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', XDG_CACHE_HOME: cache, KTRACE_NO_CACHE: '0', KTRACE_DIST: 'dist', ...env },
  });
  const entries = () => (existsSync(dir) ? readdirSync(dir).filter((n) => !n.includes('.tmp-')) : []);
  const want = run(['vars', 'vfs_read'], { KTRACE_CODE_CACHE: '0' });
  assert.is(want.status, 0, want.stderr);
  assert.equal(entries(), [], 'KTRACE_CODE_CACHE=0 writes no entry');
  const first = run(['vars', 'vfs_read']);
  assert.is(first.stdout, want.stdout);
  const names = entries();
  assert.is(names.length, 1, 'one entry for the command');
  assert.match(names[0]!, /-vars$/);
  const path = join(dir, names[0]!);
  const written = readFileSync(path);
  const again = run(['vars', 'vfs_read']);
  assert.is(again.stdout, want.stdout);
  assert.ok(readFileSync(path).equals(written), 'a valid entry is used as it is, not rewritten');
  // Another command gets its own entry.
  const funcs = run(['funcs', 'vfs_*']);
  assert.is(funcs.status, 0);
  assert.is(entries().length, 2);
  // Commands that set V8 flags (disasm from its start, run when the emulator's first module loads):
  // the entry records them and the next run sets them first, so its data is not rejected and rewritten.
  for (const args of [['disasm', 'vfs_read'], ['run', '--no-timing', '-a', 'vfs_read', '--summary']]) {
    const cmd = args[0]!;
    const one = run(args);
    assert.is(one.status, 0, one.stderr);
    const entry = join(dir, entries().find((n) => n.endsWith(`-${cmd}`))!);
    const made = readFileSync(entry);
    const two = run(args);
    assert.is(two.stdout, one.stdout, `${cmd}: same answer`);
    assert.ok(readFileSync(entry).equals(made), `${cmd}: the entry is used as it is, not rewritten`);
  }
  // Two kinds of run of one command that compile different modules (fs cat of a static file, fs ls of
  // the state): once the entry holds both, alternating rewrites it no more. (fs ls loads the emulator,
  // whose V8 flag makes the first cat's data unusable: the second cat writes the entry of both.)
  const inode = () => statSync(join(dir, entries().find((n) => n.endsWith('-fs'))!)).ino;
  const kinds = [['fs', 'cat', '/proc/kallsyms'], ['fs', 'ls', '/proc']];
  const answers = kinds.map((args) => run(args).stdout);
  run(kinds[0]!);
  const settled = inode();
  for (let i = 0; i < 4; i++) {
    const r = run(kinds[i % 2]!);
    assert.is(r.stdout, answers[i % 2], `${kinds[i % 2]!.join(' ')}: same answer`);
    assert.is(inode(), settled, `${kinds[i % 2]!.join(' ')}: the fs entry is not rewritten`);
  }
  // Bytes flipped in the middle of the data, then garbage, then a truncated file: same answer, entry rewritten.
  const bad = [Buffer.from(written.map((b, i) => (i > written.length / 2 && i < written.length / 2 + 64 ? b ^ 0x5a : b))),
    Buffer.from('garbage'), written.subarray(0, written.length >> 1)];
  for (const b of bad) {
    writeFileSync(path, b);
    const r = run(['vars', 'vfs_read']);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, want.stdout);
    assert.is(r.stderr, want.stderr);
    assert.ok(readFileSync(path).length > 1000 && !readFileSync(path).equals(b), 'the bad entry is rewritten');
  }
  rmSync(cache, { recursive: true, force: true });
});

test.run();
