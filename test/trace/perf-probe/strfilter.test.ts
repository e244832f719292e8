import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseStrFilter, DEFAULT_FUNC_FILTER } from '../../../src/trace/perf-probe/strfilter.js';

const f = (s: string) => { const r = parseStrFilter(s); if (!r.ok) throw new Error(r.reason); return r.filter; };

test('globs inside a filter', () => {
  assert.ok(f('vfs_*')('vfs_read'));
  assert.not.ok(f('vfs_*')('do_vfs_read'));
  assert.ok(f('a\\*')('a*'));
  assert.not.ok(f('a\\*')('ab'));
});

test("perf 6.1's default filter hides _* names and PLT entries, not clones", () => {
  const d = f(DEFAULT_FUNC_FILTER);
  assert.ok(d('vfs_read'));
  assert.not.ok(d('__schedule'));
  assert.not.ok(d('memcpy@plt'));
  assert.ok(d('foo.cold'));
  assert.ok(d('bar.constprop.0'));
});

test('operators, precedence and parentheses', () => {
  assert.ok(f('a* | b*')('bx'));
  assert.not.ok(f('*read* & !*_iter')('read_iter'));
  assert.ok(f('!(a*|b*)')('c'));
  assert.not.ok(f('!(a*|b*)')('b'));
  assert.ok(f('x* | y* & !*z')('xz'), '& binds tighter than |');
});

test('malformed filters are errors, not exceptions', () => {
  for (const s of ['', '(a', 'a &', '& a', 'a )']) assert.is(parseStrFilter(s).ok, false, s);
});

test.run();
