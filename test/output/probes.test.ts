import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { probeLine, addedMessage, removedMessage } from '../../src/output/probes.js';

test("perf probe's listing and messages", () => {
  assert.is(probeLine({ group: 'probe', event: 'vfs_read', place: 'vfs_read', args: [] }), '  probe:vfs_read       (on vfs_read)\n');
  assert.is(probeLine({ group: 'probe', event: 'a_very_long_event_name', place: 'f+4', args: ['x=%di', '$comm'] }),
    '  probe:a_very_long_event_name (on f+4 with x=%di $comm)\n');
  assert.is(addedMessage([{ group: 'probe', event: 'a', place: 'a', args: [] }, { group: 'probe', event: 'b', place: 'b%return', args: [] }]),
    'Added new events:\n  probe:a              (on a)\n  probe:b              (on b%return)\n\nYou can now use it in all ktrace tools, such as:\n\n\tktrace run -e probe:b\n\n');
  assert.is(addedMessage([{ group: 'probe', event: 'a', place: 'a', args: [] }], true),
    'Added new event:\n  probe:a              (on a)\n\nIt is enabled: `ktrace run` traces it (`ktrace disable probe:a` to stop).\n\nYou can now use it in all ktrace tools, such as:\n\n\tktrace run -e probe:a\n\n');
  assert.is(addedMessage([]), '');
  assert.is(removedMessage('probe', 'x'), 'Removed event: probe:x\n');
});

test('on a kernel ktrace cannot boot, the hint names the static tools instead of `ktrace run`', () => {
  const m = addedMessage([{ group: 'probe', event: 'a', place: 'a', args: [] }], true, true);
  assert.ok(!m.includes('ktrace run -e') && !m.includes('`ktrace run` traces'), m);
  assert.match(m, /^It is enabled \(`ktrace disable probe:a` to disable\)\.$/m);
  assert.match(m, /does not boot in ktrace \(`ktrace run` refuses it\)/);
  for (const cmd of ['ktrace why', 'ktrace fs cat /sys/kernel/tracing/kprobe_events']) assert.match(m, new RegExp(`^\t${cmd}$`, 'm'));
});

test.run();
