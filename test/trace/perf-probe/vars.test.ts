import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { availableVars, formatAvailableVars } from '../../../src/trace/perf-probe/vars.js';
import { fixtureDwarf } from './fixture.js';

test('availableVars: sorted "TYPE\\tNAME" per site; formatting as show_available_vars', () => {
  const d = fixtureDwarf().dwarf;
  const av = availableVars(d, { function: 'vfs_read', offset: 0, retprobe: false });
  assert.ok(av.ok);
  if (!av.ok) return;
  assert.equal(av.value, { point: 'vfs_read', sites: [{ symbol: 'vfs_read', offset: 0, vars: ['char*\tbuf', 'loff_t*\tpos', 'size_t\tcount', 'struct file*\tfile'] }] });
  assert.is(formatAvailableVars({ point: 'f', sites: [{ symbol: 'f', offset: 3, vars: [] }] }), 'Available variables at f\n\t@<f+3>\n\t\t(No matched variables)\n');
  // ret is optimized out at the entry: not listed (perf lists only what it can fetch).
  assert.not.ok(av.value.sites[0]!.vars.some((v) => v.endsWith('\tret')));
  const bad = availableVars(d, { function: 'nope', offset: 0, retprobe: false });
  assert.not.ok(bad.ok);
});

test.run();
