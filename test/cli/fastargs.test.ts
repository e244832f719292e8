import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fastParse, words } from '../../src/cli/fastargs.js';
import { ktrace } from './run.js';

const opts = {
  vmlinux: { alias: 'k', type: 'string', default: '/default' },
  all: { alias: 'a', type: 'boolean', default: false },
} as const;

test('words of a command string', () => {
  assert.equal(words('fs cat <path>'), [{ name: 'fs', kind: 'literal' }, { name: 'cat', kind: 'literal' }, { name: 'path', kind: 'required' }]);
  assert.equal(words('funcs [filter]'), [{ name: 'funcs', kind: 'literal' }, { name: 'filter', kind: 'optional' }]);
});

test('parses flags, aliases, values and positionals like yargs', () => {
  assert.equal(fastParse(['funcs'], opts, 'funcs [filter]'), { vmlinux: '/default', all: false, k: '/default', a: false });
  assert.equal(fastParse(['-k', '/x', 'funcs', '-a', 'vfs_*'], opts, 'funcs [filter]'), { vmlinux: '/x', all: true, filter: 'vfs_*', k: '/x', a: true });
  assert.equal(fastParse(['funcs', '--vmlinux=/y'], opts, 'funcs [filter]')!.vmlinux, '/y');
  assert.equal(fastParse(['fs', 'cat', '/proc/kallsyms'], opts, 'fs cat <path>')!.path, '/proc/kallsyms');
});

test('gives up on anything it does not fully understand', () => {
  for (const argv of [['funcs', '--help'], ['funcs', '--version'], ['funcs', '-x'], ['funcs', 'a', 'b'], ['funcs', '-k'],
    ['funcs', '-k', '-a'], ['funcs', '--all=1'], ['fs', 'cat'], ['fs', 'ls', '/'], ['funcs', '--no-all'], ['funcs', '--', 'x']]) {
    assert.is(fastParse(argv, opts, argv[0] === 'fs' ? 'fs cat <path>' : 'funcs [filter]'), undefined, argv.join(' '));
  }
});

test('the fast path and yargs give the same output and status', () => {
  for (const argv of [['funcs'], ['funcs', '-a'], ['funcs', 'vfs_*', '--json'], ['disasm', 'kprobe_target'], ['disasm', '--intel', 'kprobe_target+0x4'],
    ['fs', 'cat', '/proc/kallsyms'], ['fs', 'ls', '/proc'], ['fs', 'cat', '/nope'], ['disasm', 'no_such_fn']]) {
    const fast = ktrace(argv), slow = ktrace(argv, { KTRACE_FASTARGS: '0' });
    assert.equal(fast, slow, argv.join(' '));
  }
});

test.run();
