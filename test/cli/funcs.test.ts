import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ktrace } from './run.js';
import { fixtureImage } from '../elf/fixture.js';
import { perfFunctionSymbols } from '../../src/trace/perf-probe/funcs.js';

const img = fixtureImage();
const sorted = (xs: string[]) => [...new Set(xs)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

// perf's kernel map: functions and code labels of .text (the exact list is checked against perf itself
// in test/trace/perf-probe/perf-oracle.test.ts).
const text = perfFunctionSymbols(img).map((f) => f.name);

test('default: every function, sorted, without _* names (perf probe --funcs)', () => {
  const r = ktrace(['funcs']);
  assert.is(r.code, 0, r.stderr);
  const want = sorted(text.filter((n) => !n.startsWith('_')));
  assert.equal(r.stdout.trimEnd().split('\n'), want);
  assert.ok(want.includes('vfs_read') && want.includes('kprobe_target'));
  assert.ok(want.includes('entry_SYSCALL_64_after_hwframe'), 'a code label in .text');
  assert.not.ok(want.includes('start_kernel'), '.init.text is a map of its own');
});

test('a glob filter replaces the default; --all shows everything', () => {
  const vfs = ktrace(['funcs', 'vfs_*']).stdout.trimEnd().split('\n');
  assert.ok(vfs.length >= 2 && vfs.every((n) => n.startsWith('vfs_')));
  assert.ok(vfs.includes('vfs_read') && vfs.includes('vfs_write'));
  const under = ktrace(['funcs', '__*']).stdout.trimEnd().split('\n');
  assert.ok(under.includes('__schedule'), 'default filter not applied under an explicit one');
  const all = ktrace(['funcs', '--all']).stdout.trimEnd().split('\n');
  assert.equal(all, sorted(text));
});

test('--json and error cases', () => {
  const j = JSON.parse(ktrace(['funcs', '--json', 'vfs_read']).stdout);
  const f = img.functions.find((s) => s.name === 'vfs_read')!;
  assert.equal(j, [{ name: 'vfs_read', addr: '0x' + BigInt.asUintN(64, BigInt(f.addr)).toString(16).padStart(16, '0'), size: f.size }]);
  const none = ktrace(['funcs', 'no_such_*']);
  assert.is(none.code, 0);
  assert.is(none.stdout, '');
  assert.match(none.stderr, /no function matches/);
  const bad = ktrace(['funcs', '(vfs_*']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^ktrace: funcs: bad filter/);
  assert.is(ktrace(['funcs', '--all', 'x*']).code, 2);
});

test.run();
