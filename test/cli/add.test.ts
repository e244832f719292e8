import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ktrace, freshState, MAIN, tempDir } from './run.js';
import { FIXTURE } from '../elf/fixture.js';

test('add prints what perf probe prints; list shows perf\'s listing; kprobe_events has the canonical lines', () => {
  const env = { KTRACE_STATE: freshState() };
  const a = ktrace(['add', 'vfs_read'], env);
  assert.is(a.code, 0, a.stderr);
  assert.is(a.stdout, 'Added new event:\n  probe:vfs_read       (on vfs_read)\n\nYou can now use it in all ktrace tools, such as:\n\n\tktrace run -e probe:vfs_read\n\n');
  assert.is(ktrace(['-a', 'ksys_read fd=%di count=%dx:u64'], env).code, 0);
  assert.is(ktrace(['add', 'r:myret vfs_read $retval'], env).code, 0);
  assert.is(ktrace(['list'], env).stdout,
    '  probe:vfs_read       (on vfs_read)\n'
    + '  probe:ksys_read      (on ksys_read with fd=%di count=%dx:u64)\n'
    + '  kprobes:myret        (on vfs_read%return with $retval)\n');
  assert.is(ktrace(['-l', 'ksys*'], env).stdout, '  probe:ksys_read      (on ksys_read with fd=%di count=%dx:u64)\n');
  assert.is(ktrace(['fs', 'cat', 'kprobe_events'], env).stdout,
    'p:probe/vfs_read vfs_read\np:probe/ksys_read ksys_read fd=%di count=%dx:u64\nr:kprobes/myret vfs_read arg1=$retval\n');
  // Events are created disabled, as in the kernel.
  assert.is(ktrace(['fs', 'cat', 'events/probe/vfs_read/enable'], env).stdout, '0\n');
  const j = JSON.parse(ktrace(['list', '--json'], env).stdout);
  assert.equal(j[0], { group: 'probe', event: 'vfs_read', place: 'vfs_read', args: [], enabled: false, hits: 0, misses: 0 });
});

test('add: name clashes, -f, -D, -n', () => {
  const env = { KTRACE_STATE: freshState() };
  assert.is(ktrace(['add', 'vfs_read'], env).code, 0);
  const dup = ktrace(['add', 'vfs_read'], env);
  assert.is(dup.code, 1);
  assert.match(dup.stderr, /^ktrace: add: event "probe:vfs_read" already exists\.\n  Hint: .*-f/);
  assert.match(ktrace(['add', '-f', 'vfs_read'], env).stdout, /probe:vfs_read_1 +\(on vfs_read\)/);
  const d = ktrace(['add', '-D', 'vfs_read%return', '$retval'], env);
  assert.is(d.stdout, 'r:probe/vfs_read__return vfs_read+0 $retval\n');
  const n = ktrace(['add', '-n', 'ksys_read'], env);
  assert.match(n.stdout, /probe:ksys_read/);
  assert.is(ktrace(['list', 'probe:ksys_read'], env).stdout, '', 'dry run saved nothing');
});

test('add: errors show the command with a caret under the failing token, from the kernel parser', () => {
  const env = { KTRACE_STATE: freshState() };
  const e = ktrace(['add', 'vfs_read+1'], env);
  assert.is(e.code, 1);
  assert.is(e.stderr, 'ktrace: add: Probe point is not an instruction boundary\n  p:probe/vfs_read_1 vfs_read+1\n                     ^\n');
  const r = ktrace(['add', 'vfs_read', '%rdi'], env);
  assert.is(r.stderr, 'ktrace: add: Invalid register name\n  p:probe/vfs_read vfs_read+0 %rdi\n                              ^\n');
  const v = ktrace(['add', 'vfs_read', 'count'], env);
  assert.match(v.stderr, /^ktrace: add: 'count' is a variable name.*\n  vfs_read count\n {11}\^\n$/);
  const u = ktrace(['add', 'no_such_function'], env);
  assert.is(u.stderr, 'ktrace: add: Invalid probed address or symbol\n  p:probe/no_such_function no_such_function+0\n                           ^\n');
  // The failed adds are in error_log too, as failed writes to kprobe_events are.
  assert.match(ktrace(['fs', 'cat', 'error_log'], env).stdout, /trace_kprobe: error: Invalid probed address or symbol\n  Command: p:probe\/no_such_function no_such_function\+0\n/);
  assert.is(ktrace(['list'], env).stdout, '');
});

test('del: globs, -a, no match; enable/disable', () => {
  const env = { KTRACE_STATE: freshState() };
  for (const s of ['vfs_read', 'vfs_write', 'ksys_read']) assert.is(ktrace(['add', s], env).code, 0);
  assert.is(ktrace(['enable', 'probe:vfs_*'], env).code, 0);
  assert.is(ktrace(['fs', 'cat', 'events/probe/enable'], env).stdout, 'X\n');
  assert.is(ktrace(['disable', 'vfs_write'], env).code, 0);
  assert.is(ktrace(['fs', 'cat', 'events/probe/vfs_write/enable'], env).stdout, '0\n');
  assert.is(ktrace(['fs', 'cat', 'events/probe/vfs_read/enable'], env).stdout, '1\n');
  assert.is(ktrace(['enable', 'nope'], env).stderr, "ktrace: enable: no event matches 'nope' (see `ktrace list`)\n");
  // An enabled event is disabled and removed.
  assert.is(ktrace(['del', 'probe:vfs_*'], env).stdout, 'Removed event: probe:vfs_read\nRemoved event: probe:vfs_write\n');
  const none = ktrace(['-d', 'vfs_read'], env);
  assert.is(none.code, 1);
  assert.is(ktrace(['del', '-a'], env).stdout, 'Removed event: probe:ksys_read\n');
  assert.is(ktrace(['list'], env).stdout, '');
  assert.is(ktrace(['del'], env).code, 2);
});


// `ktrace add` and `ktrace list` must start fast: no iced-x86 (WASM) and no yargs unless needed.
// The timing itself is a benchmark matter; this checks the modules that make the difference.
test('add and list load neither iced-x86 nor yargs; add at a non-zero offset loads iced-x86 for the boundary check', () => {
  const probe = join(tempDir('ktrace-load-'), 'probe-load.mjs');
  writeFileSync(probe, `import { createRequire } from 'node:module';
const [main, ...args] = process.argv.slice(2);
process.argv = [process.argv[0], main, ...args];
await import(main);
const cache = Object.keys(createRequire(import.meta.url).cache);
process.stderr.write(JSON.stringify({ iced: cache.some((k) => k.includes('iced-x86')), yargs: cache.some((k) => k.includes('yargs')) }));
`);
  const env = { ...process.env, KTRACE_STATE: freshState() };
  const loaded = (args: string[]) => {
    const r = spawnSync(process.execPath, [probe, MAIN, '-k', FIXTURE, ...args], { encoding: 'utf8', env });
    return JSON.parse(r.stderr.slice(r.stderr.lastIndexOf('{')));
  };
  assert.equal(loaded(['add', 'vfs_read', 'fd=%di']), { iced: false, yargs: false });
  assert.equal(loaded(['list']), { iced: false, yargs: false });
  assert.equal(loaded(['add', 'x=vfs_read+5']), { iced: true, yargs: false });
  assert.equal(loaded(['list']), { iced: false, yargs: false }, 'stored offset probes replay without decoding');
});

test.run();
