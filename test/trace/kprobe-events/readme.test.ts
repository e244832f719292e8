import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { README } from '../../../src/trace/kprobe-events/readme.js';

// The ftrace selftests decide what to test by grepping README: ktrace must advertise exactly the
// kprobe features it implements.
test('README advertises the implemented kprobe_events features', () => {
  assert.ok(README.startsWith('tracing mini-HOWTO:\n\n'));
  assert.ok(README.includes('\t   Format: p[:[<group>/][<event>]] <place> [<args>]\n'));
  assert.ok(README.includes('r[maxactive]'));
  assert.ok(README.includes('$arg<N>'));
  assert.ok(README.includes('imm-value'));
  assert.ok(README.includes('imm-string'));
  assert.ok(README.includes('place (kretprobe): [<module>:]<symbol>[+<offset>]%return|<memaddr>\n'));
  assert.ok(/fetcharg:.*\n.*\$comm/.test(README));
  assert.ok(README.includes(' <type>\\[<array-size>\\]'));
  assert.ok(README.includes('Create/append/'));
  assert.ok(README.includes('kernel return probes support:'));
  assert.ok(README.includes('symstr'));
  assert.not.ok(README.includes('<argname>'), 'no BTF arguments');
  assert.not.ok(README.includes('%pd'), 'no dentry types');
  assert.not.ok(README.includes('uprobe_events'));
  // ktrace has no event probes: no 'e' lines, no $<efield> (kprobe_events refuses 'e:' lines)
  assert.not.ok(README.includes('e[:['), 'no eprobe format');
  assert.not.ok(README.includes('efield'), 'no eprobe fields');
  assert.ok(README.includes('\t fetcharg: %<register>, @<address>, @<symbol>[+|-<offset>],\n'));
  assert.ok(README.endsWith('\t   Filters can be ignored when removing a trigger.\n'));
});

test.run();
