// ktrace run with the kernel's filters and triggers: --filter (the kernel's grammar; filtered-out
// hits still count in kprobe_profile), -g (each event's kernel stack), --hist on a return probe's
// value and its errors, the JSON summary's histograms, --duration in emulated time, and a stored
// event filter and hist trigger taking effect in a run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ktrace, freshState } from './run.js';

test('--filter: only the hits the expression accepts are recorded; kprobe_profile counts them all', () => {
  const env = { KTRACE_STATE: freshState() };
  assert.is(ktrace(['add', 'vfs_read count=%dx:u64'], env).code, 0);
  const all = ktrace(['run', '--no-timing', '--trace'], env).stdout.split('\n').filter((l) => l.includes('vfs_read:'));
  const big = all.filter((l) => Number(/count=(\d+)/.exec(l)![1]) >= 64 && / init-/.test(l));
  assert.ok(big.length > 0 && big.length < all.length, `${big.length} of ${all.length}`);
  const r = ktrace(['run', '--no-timing', '--trace', '--filter', 'vfs_read:count >= 64 && comm == "init"'], env);
  assert.is(r.code, 0, r.stderr);
  assert.equal(r.stdout.split('\n').filter((l) => l.includes('vfs_read:')), big);
  // both runs' hits, the filtered ones included
  assert.match(ktrace(['fs', 'cat', 'kprobe_profile'], env).stdout, new RegExp(`vfs_read +${all.length * 2} +0`));
  // a bad filter: the kernel's message, with the expression and a caret
  const bad = ktrace(['run', 'cat', '--filter', 'vfs_read:count >> 1'], env);
  assert.is(bad.code, 2);
  assert.is(bad.stderr, 'ktrace: run: --filter probe:vfs_read: Invalid value (did you forget quotes)?\n         ^\n  count >> 1\n');
  // the same filter stored in events/.../filter applies to every run
  assert.is(ktrace(['fs', 'write', 'events/probe/vfs_read/filter', 'count >= 64 && comm == "init"'], env).code, 0);
  assert.equal(ktrace(['run', '--no-timing', '--trace'], env).stdout.split('\n').filter((l) => l.includes('vfs_read:')), big);
});

test('-g: each event is followed by its kernel stack, the real callers through a kretprobe trampoline', () => {
  const env = { KTRACE_STATE: freshState() };
  assert.is(ktrace(['add', '__x64_sys_read%return $retval'], env).code, 0);
  const r = ktrace(['run', 'cat', '--no-timing', '--trace', '-g', '-e', 'probe:*', '-a', 'vfs_read'], env);
  assert.is(r.code, 0, r.stderr);
  const m = /vfs_read: \(vfs_read\+0x0\/0x[0-9a-f]+\)\n.*<stack trace>\n((?: => .*\n)+)/.exec(r.stdout);
  assert.ok(m, r.stdout.slice(0, 2000));
  const frames = m![1]!.split('\n').filter(Boolean).map((l) => l.replace(/^ => /, ''));
  assert.match(frames[0]!, /^vfs_read\+0x0\//);
  assert.match(frames[1]!, /^__x64_sys_read\+0x/);
  // __x64_sys_read's return address is the kretprobe trampoline while it runs: the stack shows its caller
  assert.match(frames[2]!, /^do_syscall_64\+0x/);
  for (const f of frames) assert.match(f, /^[A-Za-z_][\w.]*\+0x[0-9a-f]+\/0x[0-9a-f]+$/);
  // JSON: the stack in each event object
  const j = ktrace(['run', 'cat', '--json', '-g', '-a', 'vfs_read'], env).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  assert.equal(j.find((o) => o.event === 'probe:vfs_read').stack.slice(0, 1), [frames[0]]);
});

test("--hist on a return probe's value ($retval or retval); an unknown field is an error; histograms in the JSON summary", () => {
  const env = { KTRACE_STATE: freshState() };
  assert.is(ktrace(['add', 'vfs_read%return $retval'], env).code, 0);
  const r = ktrace(['run', 'cat', '--summary', '--no-timing', '--hist', 'retval'], env);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /@\$retval\[probe:vfs_read__return\]:\n\[0\] +\d+ \|@*/);
  const u = ktrace(['run', 'cat', '--hist', 'nosuch'], env);
  assert.is(u.code, 2);
  assert.is(u.stderr, "ktrace: run: --hist nosuch: no selected event has a numeric argument 'nosuch'; see `ktrace list`\n");
  const j = ktrace(['run', 'cat', '--json', '--no-timing', '--hist', '$retval'], env).stdout.trim().split('\n');
  const summary = JSON.parse(j[j.length - 1]!);
  assert.is(summary.histograms[0].event, 'probe:vfs_read__return');
  assert.is(summary.histograms[0].field, '$retval');
  assert.ok(summary.histograms[0].buckets.some((b: { label: string; count: number }) => b.label === '[0]' && b.count > 0));
});

test('--duration: the run stops in emulated time and says which limit and how far it got; --max-insns says so too', () => {
  const env = { KTRACE_STATE: freshState() };
  const r = ktrace(['run', 'default', '--summary', '--no-timing', '--duration', '300us'], env);
  assert.is(r.code, 0, r.stderr);
  const m = /ended: duration limit reached \(--duration 300us: ([0-9.]+) ms of emulated time, [0-9,]+ instructions, [0-9,]+ system calls\)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.ok(Number(m![1]) >= 0.3 && Number(m![1]) < 0.35, m![1]);
  assert.is(ktrace(['run', '--duration', '10 parsecs'], env).code, 2);
  const b = ktrace(['run', '--summary', '--no-timing', '--max-insns', '300000'], env);
  assert.match(b.stdout, /ended: instruction budget exhausted \(--max-insns [0-9,]+: [0-9.]+ ms of emulated time, [0-9,]+ system calls\)/);
});

test('a hist trigger written to events/.../trigger fills events/.../hist in runs; the summary shows this run\'s part', () => {
  const env = { KTRACE_STATE: freshState() };
  assert.is(ktrace(['add', 'vfs_read count=%dx:u64'], env).code, 0);
  assert.is(ktrace(['fs', 'write', 'events/probe/vfs_read/trigger', 'hist:keys=common_pid.execname,count.log2:vals=hitcount,count:sort=hitcount.descending'], env).code, 0);
  const r = ktrace(['run', 'cat', '--summary', '--no-timing'], env);
  assert.match(r.stdout, /probe:vfs_read hist \(this run\):\n# event histogram\n/);
  const hist = ktrace(['fs', 'cat', 'events/probe/vfs_read/hist'], env).stdout;
  assert.match(hist, /^# event histogram\n#\n# trigger info: hist:keys=common_pid\.execname,count\.log2:vals=hitcount,count:sort=hitcount\.descending:size=2048 \[active\]\n#\n\n/);
  const rows = [...hist.matchAll(/^\{ common_pid: init {12}\[ +\d+\], count: ~ 2\^(\d+) *\} hitcount: +(\d+)  count: +(\d+)$/gm)];
  assert.ok(rows.length > 0, hist);
  const hits = rows.map((x) => Number(x[2]));
  assert.equal(hits, [...hits].sort((a, b) => b - a));
  const total = Number(/Hits: (\d+)/.exec(hist)![1]);
  assert.is(hits.reduce((a, b) => a + b, 0), total);
  // a second run adds to it
  ktrace(['run', 'cat', '--summary'], env);
  assert.is(Number(/Hits: (\d+)/.exec(ktrace(['fs', 'cat', 'events/probe/vfs_read/hist'], env).stdout)![1]), total * 2);
});

test.run();
