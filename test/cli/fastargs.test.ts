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

test('numbers, repeatable options and --no-X as yargs reads them', () => {
  const o = { ...opts, cpus: { type: 'number', default: 2 }, add: { alias: 'e', type: 'string', array: true } } as const;
  const r = fastParse(['run', '--cpus', '4', '-e', 'a', '--add', 'b c', '--no-all'], o, 'run [workload]')!;
  assert.is(r.cpus, 4);
  assert.equal(r.add, ['a', 'b c']);
  assert.is(r.all, false);
  assert.ok(Number.isNaN(fastParse(['run', '--cpus', 'x'], o, 'run [workload]')!.cpus));
  // yargs would read `cat` as a second -e value: yargs decides. A plain option given twice: the last wins.
  assert.is(fastParse(['run', '-e', 'a', 'cat'], o, 'run [workload]'), undefined);
  assert.is(fastParse(['run', '--cpus', '1', '--cpus', '2'], o, 'run [workload]')!.cpus, 2);
  assert.equal(fastParse(['run', 'cat', '-e', 'a'], o, 'run [workload]')!.workload, 'cat');
});

test('gives up on anything it does not fully understand', () => {
  for (const argv of [['funcs', '--help'], ['funcs', '--version'], ['funcs', '-x'], ['funcs', 'a', 'b'], ['funcs', '-k'],
    ['funcs', '-k', '-a'], ['funcs', '--all=1'], ['fs', 'cat'], ['fs', 'ls', '/'], ['funcs', '--no-k'], ['funcs', '--', 'x']]) {
    assert.is(fastParse(argv, opts, argv[0] === 'fs' ? 'fs cat <path>' : 'funcs [filter]'), undefined, argv.join(' '));
  }
});

test('the fast path and yargs give the same output and status', () => {
  for (const argv of [['funcs'], ['funcs', '-a'], ['funcs', 'vfs_*', '--json'], ['disasm', 'kprobe_target'], ['disasm', '--intel', 'kprobe_target+0x4'],
    ['fs', 'cat', '/proc/kallsyms'], ['fs', 'ls', '/proc'], ['fs', 'cat', '/nope'], ['disasm', 'no_such_fn'],
    ['run', 'cat', '--no-timing', '--json'], ['run', 'cat', '--no-timing', '-a', 'vfs_read', '--summary', '--hist', 'count', '-c', '1'],
    ['run', '--cpus', 'x'], ['run', '--list']]) {
    const fast = ktrace(argv), slow = ktrace(argv, { KTRACE_FASTARGS: '0' });
    assert.equal(fast, slow, argv.join(' '));
  }
});

test.run();
