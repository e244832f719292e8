import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { ktrace, MAIN } from './run.js';
import { FIXTURE } from '../elf/fixture.js';
import { fixtureImage } from '../elf/fixture.js';

test('fs cat /proc/kallsyms prints the kernel format', () => {
  const r = ktrace(['fs', 'cat', '/proc/kallsyms']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, fixtureImage().kallsyms.text());
  for (const line of r.stdout.trimEnd().split('\n')) assert.match(line, /^[0-9a-f]{16} [A-Za-z] \S+$/);
  assert.match(r.stdout, /^ffffffff81[0-9a-f]{6} T vfs_read$/m);
});

test('fs cat errors: missing path, directory', () => {
  const r = ktrace(['fs', 'cat', '/proc/nope']);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.is(r.stderr, 'cat: /proc/nope: No such file or directory\n');
  assert.is(ktrace(['fs', 'cat', '/proc']).stderr, 'cat: /proc: Is a directory\n');
});

test('fs ls', () => {
  assert.is(ktrace(['fs', 'ls', '/']).stdout, 'proc\n');
  assert.is(ktrace(['fs', 'ls', '/proc']).stdout, 'kallsyms\n');
  const r = ktrace(['fs', 'ls', '/nope']);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'ls: /nope: No such file or directory\n');
});

test('a closed pipe ends quietly', () => {
  const r = spawnSync('sh', ['-c', `"${process.execPath}" "${MAIN}" -k "${FIXTURE}" fs cat /proc/kallsyms | head -1`], { encoding: 'utf8' });
  assert.is(r.stderr, '');
  assert.is(r.stdout.split('\n').length, 2);
});

test.run();
