import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorLog, formatErrorLogEntry, TRACING_LOG_ERRS_MAX } from '../../../src/trace/kprobe-events/error-log.js';
import { probeLogErr } from '../../../src/trace/kprobe-events/errors.js';

test('entry format: timestamp, location, command, caret', () => {
  const e = probeLogErr(['p', 'vfs_read', '$none'], 2, 0, 'BAD_VAR');
  assert.is(formatErrorLogEntry({ ...e, tsNs: 1_234_567_890_123n }),
    '[ 1234.567890] trace_kprobe: error: Invalid $-valiable specified\n' +
    '  Command: p vfs_read $none\n' +
    '                      ^\n');
  assert.is(formatErrorLogEntry({ ...e, tsNs: 5_000n }).slice(0, 15), '[    0.000005] ');
  assert.is(formatErrorLogEntry({ ...e, tsNs: 123456_000_000_000n }).slice(0, 16), '[123456.000000] ');
});

test('bounded to the last 8 entries; clear empties it', () => {
  const log = new ErrorLog();
  for (let i = 0; i < 10; i++) log.add(probeLogErr(['p', `f${i}`], 1, 0, 'BAD_PROBE_ADDR'), BigInt(i) * 1_000_000_000n);
  assert.is(TRACING_LOG_ERRS_MAX, 8);
  assert.is(log.entries.length, 8);
  assert.is(log.entries[0]!.command, 'p f2');
  assert.ok(log.text().startsWith('[    2.000000] trace_kprobe: error: Invalid probed address or symbol\n  Command: p f2\n'));
  const copy = new ErrorLog(log.entries);
  assert.is(copy.text(), log.text());
  log.clear();
  assert.is(log.text(), '');
});

test.run();
