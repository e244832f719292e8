import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { ktrace, MAIN, freshState } from './run.js';
import { FIXTURE } from '../elf/fixture.js';
import { fixtureImage } from '../elf/fixture.js';
import { tempDir } from './run.js';
import { realVmlinux } from '../../bench/sections/real.js';
import { loadTracing } from '../../src/cli/tracing.js';
import { emptyTraceState } from '../../src/trace/runtime/state.js';
import { renderKprobeBlacklist } from '../../src/kprobe/debugfs.js';

test('fs cat /proc/kallsyms prints the kernel format', () => {
  const r = ktrace(['fs', 'cat', '/proc/kallsyms']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, fixtureImage().kallsyms.text() + 'ffffffffa0000000 T arch_rethook_trampoline\n');
  for (const line of r.stdout.trimEnd().split('\n')) assert.match(line, /^[0-9a-f]{16} [A-Za-z] \S+$/);
  assert.match(r.stdout, /^ffffffff81[0-9a-f]{6} T vfs_read$/m);
});

test('fs cat errors: missing path, directory', () => {
  const r = ktrace(['fs', 'cat', '/proc/nope']);
  assert.is(r.code, 1);
  assert.is(r.stdout, '');
  assert.is(r.stderr, 'cat: /proc/nope: No such file or directory\n');
  assert.is(ktrace(['fs', 'cat', '/proc']).stderr, 'cat: /proc: Is a directory\n');
});

test('fs ls', () => {
  assert.is(ktrace(['fs', 'ls', '/']).stdout, 'proc\nsys\n');
  assert.is(ktrace(['fs', 'ls', '/proc']).stdout, 'kallsyms\nsys\n');
  const r = ktrace(['fs', 'ls', '/nope']);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'ls: /nope: No such file or directory\n');
});

test('a closed pipe ends quietly', () => {
  const r = spawnSync('sh', ['-c', `"${process.execPath}" "${MAIN}" -k "${FIXTURE}" fs cat /proc/kallsyms | head -1`], { encoding: 'utf8' });
  assert.is(r.stderr, '');
  assert.is(r.stdout.split('\n').length, 2);
});


test('fs write defines kprobe events that persist between processes; cat shows the canonical line', () => {
  const env = { KTRACE_STATE: freshState() };
  assert.is(ktrace(['fs', 'write', 'kprobe_events', 'p:myprobe vfs_read  fd=%di'], env).code, 0);
  assert.is(ktrace(['fs', 'write', '/sys/kernel/tracing/kprobe_events', 'p:grp/other ksys_read'], env).code, 0);
  assert.is(ktrace(['fs', 'cat', 'kprobe_events'], env).stdout, 'p:kprobes/myprobe vfs_read fd=%di\np:grp/other ksys_read\n');
  assert.is(ktrace(['fs', 'ls', 'events'], env).stdout, 'enable\ngrp\nkprobes\n');
  assert.is(ktrace(['fs', 'ls', 'events/kprobes/myprobe'], env).stdout, 'enable\nfilter\nformat\nhist\nid\ntrigger\n');
  assert.is(ktrace(['fs', 'cat', 'events/kprobes/myprobe/enable'], env).stdout, '0\n');
  const fmt = ktrace(['fs', 'cat', 'events/kprobes/myprobe/format'], env).stdout;
  assert.match(fmt, /^name: myprobe\nID: \d+\n/);
  assert.match(fmt, /\tfield:u64 fd;\toffset:16;\tsize:8;\tsigned:0;\n/);
  assert.match(fmt, /print fmt: "\(%lx\) fd=0x%Lx", REC->__probe_ip, REC->fd\n$/);
  // Truncating removes every event.
  assert.is(ktrace(['fs', 'write', '--truncate', 'kprobe_events', ''], env).code, 0);
  assert.is(ktrace(['fs', 'cat', 'kprobe_events'], env).stdout, '');
  assert.is(ktrace(['fs', 'ls', 'events'], env).stdout, 'enable\n');
});

test('fs write: a rejected write exits 1 with the shell message and error_log has the kernel entry', () => {
  const env = { KTRACE_STATE: freshState() };
  const r = ktrace(['fs', 'write', 'kprobe_events', 'p:bad vfs_read+1'], env);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'ktrace: write error: Invalid or incomplete multibyte or wide character\n');
  const log = ktrace(['fs', 'cat', 'error_log'], env).stdout;
  assert.match(log, /^\[ +\d+\.\d{6}\] trace_kprobe: error: Probe point is not an instruction boundary\n  Command: p:bad vfs_read\+1\n {17}\^\n$/);
  const u = ktrace(['fs', 'write', 'kprobe_events', 'p:bad no_such_function'], env);
  assert.is(u.code, 1);
  assert.match(u.stderr, /^ktrace: write error: /);
  assert.match(ktrace(['fs', 'cat', 'error_log'], env).stdout, /error: Invalid probed address or symbol\n  Command: p:bad no_such_function\n {17}\^\n$/);
  const s = ktrace(['fs', 'write', 'kprobe_events', 'p:bad vfs_read %rdi'], env);
  assert.is(s.stderr, 'ktrace: write error: Invalid argument\n');
  // Clearing error_log: open with O_TRUNC.
  assert.is(ktrace(['fs', 'write', '--truncate', 'error_log', ''], env).code, 0);
  assert.is(ktrace(['fs', 'cat', 'error_log'], env).stdout, '');
  assert.is(ktrace(['fs', 'write', 'README', 'x'], env).stderr, 'ktrace: write error: Permission denied\n');
  assert.is(ktrace(['fs', 'write', 'nope', 'x'], env).stderr, 'ktrace: nope: No such file or directory\n');
});

test('fs: kprobes debugfs list shows the events\' kprobes, [DISABLED] until enabled; enabled knob persists', () => {
  const env = { KTRACE_STATE: freshState() };
  assert.is(ktrace(['fs', 'write', 'kprobe_events', 'p:myprobe vfs_read'], env).code, 0);
  const list = ktrace(['fs', 'cat', '/sys/kernel/debug/kprobes/list'], env);
  assert.is(list.code, 0, list.stderr);
  // vfs_read+0 is an fentry site: the probe goes through ftrace (CONFIG_KPROBES_ON_FTRACE), as on Linux.
  assert.match(list.stdout, /^ffffffff81[0-9a-f]{6}  k  vfs_read\+0x0    \[DISABLED\]\[FTRACE\]\n$/);
  assert.is(ktrace(['fs', 'write', 'events/kprobes/myprobe/enable', '1'], env).code, 0);
  assert.is(ktrace(['fs', 'cat', 'events/kprobes/myprobe/enable'], env).stdout, '1\n');
  assert.match(ktrace(['fs', 'cat', '/sys/kernel/debug/kprobes/list'], env).stdout, /^ffffffff81[0-9a-f]{6}  k  vfs_read\+0x0    \[FTRACE\]\n$/);
  assert.is(ktrace(['fs', 'write', 'events/kprobes/myprobe/enable', '2'], env).stderr, 'ktrace: write error: Invalid argument\n');
  // An enabled event cannot be removed (EBUSY), as in the kernel.
  assert.is(ktrace(['fs', 'write', 'kprobe_events', '--', '-:myprobe'], env).stderr, 'ktrace: write error: Device or resource busy\n');
  assert.is(ktrace(['fs', 'write', '/sys/kernel/debug/kprobes/enabled', '0'], env).code, 0);
  assert.is(ktrace(['fs', 'cat', '/sys/kernel/debug/kprobes/enabled'], env).stdout, '0\n');
  assert.match(ktrace(['fs', 'cat', '/sys/kernel/debug/kprobes/blacklist'], env).stdout, /^0x[0-9a-f]{16}-0x[0-9a-f]{16}\t\S+\n/);
  assert.is(ktrace(['fs', 'ls', '/sys/kernel/debug/kprobes'], env).stdout, 'blacklist\nenabled\nlist\n');
  assert.is(ktrace(['fs', 'cat', '/proc/sys/debug/kprobes-optimization'], env).stdout, '1\n');
  // A probe inside a function is jump-optimized (the delayed optimizer has run, as on a live system).
  assert.is(ktrace(['fs', 'write', '/sys/kernel/debug/kprobes/enabled', '1'], env).code, 0);
  assert.is(ktrace(['add', 'y=pipe_read+5'], env).code, 0);
  assert.is(ktrace(['enable', 'y'], env).code, 0);
  assert.match(ktrace(['fs', 'cat', '/sys/kernel/debug/kprobes/list'], env).stdout, /  k  pipe_read\+0x5    \[OPTIMIZED\]\n/);
  assert.is(ktrace(['fs', 'write', '/proc/sys/debug/kprobes-optimization', '0'], env).code, 0);
  assert.is(ktrace(['fs', 'cat', '/proc/sys/debug/kprobes-optimization'], env).stdout, '0\n');
  assert.match(ktrace(['fs', 'cat', '/sys/kernel/debug/kprobes/list'], env).stdout, /  k  pipe_read\+0x5    \n/);
  assert.is(ktrace(['fs', 'write', '/proc/sys/debug/kprobes-optimization', '2'], env).stderr, 'ktrace: write error: Invalid argument\n');
  assert.is(ktrace(['fs', 'ls', '/proc'], env).stdout, 'kallsyms\nsys\n');
});

test('fs cat README and kprobe_profile', () => {
  const env = { KTRACE_STATE: freshState() };
  assert.match(ktrace(['fs', 'cat', 'README'], env).stdout, /kprobe_events/);
  ktrace(['fs', 'write', 'kprobe_events', 'p:myprobe vfs_read'], env);
  assert.is(ktrace(['fs', 'cat', 'kprobe_profile'], env).stdout, `  ${'myprobe'.padEnd(44)} ${'0'.padStart(15)} ${'0'.padStart(15)}\n`);
});

test('the kprobe blacklist is read from the image alone, as the kernel lists it once booted', async () => {
  // The kprobe layer of a machine over the image (what a booted kernel's debugfs shows) and `fs cat`'s static path agree.
  const img = fixtureImage();
  const t = await loadTracing({ machine: true });
  const ms = t.machine(img, emptyTraceState(), 2);
  const booted = renderKprobeBlacklist(ms.mgr);
  assert.ok(booted.split('\n').length > 3);
  assert.is(ktrace(['fs', 'cat', '/sys/kernel/debug/kprobes/blacklist']).stdout, booted);
});

/** ktrace with the image given here (-k), not the fixture. */
const ktraceOn = (args: string[], env: Record<string, string> = {}) => ktrace(args, env, true);

test('real vmlinux: kallsyms and the blacklist are the same from the cache, the symbol index and the whole symbol table', () => {
  const real = realVmlinux();
  if (!real) { console.log('SKIP fs real vmlinux: not in the cache (scripts/real-vmlinux.sh fetches it)'); return; }
  const cache = tempDir();
  for (const path of ['/proc/kallsyms', '/sys/kernel/debug/kprobes/blacklist']) {
    const plain = ktraceOn(['-k', real, 'fs', 'cat', path], { KTRACE_NO_CACHE: '1' });
    assert.is(plain.code, 0, plain.stderr);
    const env = { XDG_CACHE_HOME: cache, KTRACE_INDEX_BACKGROUND: '0' };
    const first = ktraceOn(['-k', real, 'fs', 'cat', path], env), again = ktraceOn(['-k', real, 'fs', 'cat', path], env);
    assert.is(first.stdout, plain.stdout, `${path}: first`);
    assert.is(again.stdout, plain.stdout, `${path}: cached`);
  }
  const build = spawnSync(process.execPath, [MAIN.replace(/main\.js$/, 'index-build.js'), real], { env: { ...process.env, XDG_CACHE_HOME: cache } });
  assert.is(build.status, 0);
  const fresh = tempDir();
  // With the symbol index (its lazy kallsyms) but no cached text.
  spawnSync('cp', ['-r', `${cache}/ktrace`, fresh]);
  spawnSync('sh', ['-c', `rm -f "${fresh}"/ktrace/index/*.kallsyms "${fresh}"/ktrace/index/*.blacklist`]);
  for (const path of ['/proc/kallsyms', '/sys/kernel/debug/kprobes/blacklist']) {
    assert.is(ktraceOn(['-k', real, 'fs', 'cat', path], { XDG_CACHE_HOME: fresh }).stdout, ktraceOn(['-k', real, 'fs', 'cat', path], { KTRACE_NO_CACHE: '1' }).stdout, path);
  }
});

test('per_cpu/cpuN/trace: each CPU\'s entries under the whole buffer\'s header; per-CPU trace_pipe consumes that CPU only', () => {
  const env = { KTRACE_STATE: freshState() };
  assert.is(ktrace(['add', '-q', 'vfs_read'], env).code, 0);
  assert.is(ktrace(['run', '--no-timing'], env).code, 0);
  const all = ktrace(['fs', 'cat', 'trace'], env).stdout;
  const header = all.slice(0, all.indexOf('#              | |') + all.slice(all.indexOf('#              | |')).indexOf('\n') + 1);
  const body = all.slice(header.length).split('\n').filter(Boolean);
  const per = [0, 1].map((c) => ktrace(['fs', 'cat', `per_cpu/cpu${c}/trace`], env).stdout);
  for (const [c, text] of per.entries()) {
    assert.ok(text.startsWith(header), 'the header counts the whole buffer, as print_event_info does');
    const lines = text.slice(header.length).split('\n').filter(Boolean);
    assert.ok(lines.length > 0, `cpu${c} recorded events`);
    assert.equal(lines, body.filter((l) => l.includes(`[00${c}]`)));
  }
  const p1 = ktrace(['fs', 'cat', 'per_cpu/cpu1/trace_pipe'], env).stdout;
  assert.is(p1, per[1]!.slice(header.length));
  assert.is(ktrace(['fs', 'cat', 'per_cpu/cpu1/trace_pipe'], env).stdout, '');
  assert.is(ktrace(['fs', 'cat', 'trace'], env).stdout.split('\n').filter((l) => l.includes('[001]')).length, 0);
  assert.ok(ktrace(['fs', 'cat', 'trace'], env).stdout.includes('[000]'));
  assert.equal(ktrace(['fs', 'ls', 'per_cpu'], env).stdout, 'cpu0\ncpu1\n');
});

test('the trace outlives the events that wrote it: kept across later writes until `echo > trace` clears it', () => {
  const env = { KTRACE_STATE: freshState() };
  // A run with -a probes only: no event is stored afterwards, the trace is.
  assert.is(ktrace(['run', '--no-timing', '-a', 'vfs_read'], env).code, 0);
  assert.is(ktrace(['list'], env).stdout, '');
  const body = (t: string) => t.split('\n').filter((l) => l && !l.startsWith('#'));
  const first = ktrace(['fs', 'cat', 'trace'], env).stdout;
  const lines = body(first);
  assert.ok(lines.some((l) => l.includes('[000]')) && lines.some((l) => l.includes('[001]')), first);
  // A consuming read of one CPU's trace_pipe takes that CPU's entries only.
  assert.is(body(ktrace(['fs', 'cat', 'per_cpu/cpu1/trace_pipe'], env).stdout).length, lines.filter((l) => l.includes('[001]')).length);
  const cpu0 = lines.filter((l) => l.includes('[000]'));
  assert.equal(body(ktrace(['fs', 'cat', 'trace'], env).stdout), cpu0);
  // Other writes to the state: an event defined and removed (never enabled: Linux 6.1 resets the
  // buffer only when an event that was ever enabled goes, see the next test), a knob, error_log truncated.
  assert.is(ktrace(['fs', 'write', 'kprobe_events', 'p:probe/kw ksys_write'], env).code, 0);
  assert.is(ktrace(['list'], env).stdout.split('\n').filter(Boolean).length, 1);
  assert.is(ktrace(['fs', 'write', 'kprobe_events', '--', '-:probe/kw'], env).code, 0);
  assert.is(ktrace(['list'], env).stdout, '');
  assert.is(ktrace(['fs', 'write', 'options/sym-offset', '1'], env).code, 0);
  assert.is(ktrace(['fs', 'write', '--truncate', 'error_log', ''], env).code, 0);
  assert.is(ktrace(['fs', 'write', '--truncate', 'kprobe_events', ''], env).code, 0);
  assert.equal(body(ktrace(['fs', 'cat', 'trace'], env).stdout), cpu0);
  // echo > trace (O_TRUNC) clears it.
  assert.is(ktrace(['fs', 'write', '--truncate', 'trace', ''], env).code, 0);
  const cleared = ktrace(['fs', 'cat', 'trace'], env).stdout;
  assert.equal(body(cleared), []);
  assert.match(cleared, /^# entries-in-buffer\/entries-written: 0\/0 /m);
});

test("removing an event that was ever enabled empties the trace (Linux 6.1: WAS_ENABLED → clear_trace), through fs, del, del -a, a trigger and run -e", () => {
  const env = { KTRACE_STATE: freshState() };
  const entries = () => ktrace(['fs', 'cat', 'trace'], env).stdout.split('\n').filter((l) => l && !l.startsWith('#')).length;
  const fill = () => { assert.is(ktrace(['run', '--no-timing', '--summary', '-a', 'vfs_read'], env).code, 0); assert.ok(entries() > 0); };
  const fsw = (path: string, text: string) => { const r = ktrace(['fs', 'write', '--', path, text], env); assert.is(r.code, 0, r.stderr); };
  fill();
  const n = entries();
  // Enabled then disabled through the enable file, then removed by a kprobe_events write: cleared.
  fsw('kprobe_events', 'p:kprobes/a ksys_write');
  fsw('kprobe_events', 'p:kprobes/never ksys_read');
  fsw('events/kprobes/a/enable', '1');
  fsw('events/kprobes/a/enable', '0');
  fsw('kprobe_events', '-:kprobes/never');
  assert.is(entries(), n, 'a never-enabled event goes: the trace stays');
  fsw('kprobe_events', '-:kprobes/a');
  assert.is(entries(), 0);
  assert.match(ktrace(['fs', 'cat', 'trace'], env).stdout, /^# entries-in-buffer\/entries-written: 0\/0 /m);
  // `ktrace add` enables what it creates; `del --force` disables and removes: cleared.
  fill();
  assert.is(ktrace(['add', 'ksys_write'], env).code, 0);
  assert.is(ktrace(['del', '--force', 'probe:ksys_write'], env).code, 0);
  assert.is(entries(), 0);
  // A trigger arms its event (soft mode), which counts as enabled; removing the trigger does not undo it.
  fill();
  fsw('kprobe_events', 'p:kprobes/t ksys_write');
  fsw('events/kprobes/t/trigger', 'traceoff');
  fsw('events/kprobes/t/trigger', '!traceoff');
  assert.is(entries(), n);
  assert.is(ktrace(['del', 'kprobes:t'], env).code, 0);
  assert.is(entries(), 0);
  // run -e enables a stored event for the run; del -a later removes it: cleared. A never-enabled one left alone.
  fsw('kprobe_events', 'p:kprobes/r ksys_write');
  assert.is(ktrace(['run', '--no-timing', '--summary', '-e', 'kprobes:r', '-a', 'vfs_read'], env).code, 0);
  assert.ok(entries() > 0);
  assert.is(ktrace(['del', '-a'], env).code, 0);
  assert.is(entries(), 0);
  fill();
  fsw('kprobe_events', 'p:kprobes/q ksys_write');
  assert.is(ktrace(['del', '-a'], env).code, 0);
  assert.is(entries(), n);
});

test('an event a trigger arms cannot be removed (soft mode sets EVENT_FILE_FL_ENABLED: -EBUSY) until the trigger goes; del --force drops both', () => {
  const env = { KTRACE_STATE: freshState() };
  const fsw = (path: string, text: string) => ktrace(['fs', 'write', '--', path, text], env);
  assert.is(fsw('kprobe_events', 'p:kprobes/t ksys_write').code, 0);
  assert.is(fsw('events/kprobes/t/trigger', 'traceoff').code, 0);
  const r = fsw('kprobe_events', '-:kprobes/t');
  assert.is(r.code, 1);
  assert.match(r.stderr, /Device or resource busy/);
  const d = ktrace(['del', 'kprobes:t'], env);
  assert.is(d.code, 1);
  assert.match(d.stderr, /^ktrace: del: Failed to delete kprobes:t: Device or resource busy \(a trigger is attached\)/);
  assert.is(ktrace(['del', '-a'], env).code, 1, 'del -a refuses too');
  assert.match(ktrace(['list'], env).stdout, /kprobes:t/);
  // the trigger removed, the event goes
  assert.is(fsw('events/kprobes/t/trigger', '!traceoff').code, 0);
  assert.is(fsw('kprobe_events', '-:kprobes/t').code, 0);
  // --force removes the trigger with its event
  assert.is(fsw('kprobe_events', 'p:kprobes/u ksys_write').code, 0);
  assert.is(fsw('events/kprobes/u/trigger', 'traceoff').code, 0);
  assert.is(ktrace(['del', '--force', 'kprobes:u'], env).code, 0);
  assert.is.not(ktrace(['list'], env).stdout.includes('kprobes:u'), true);
  assert.is(fsw('kprobe_events', 'p:kprobes/u ksys_write').code, 0);
  assert.not.match(ktrace(['fs', 'cat', 'events/kprobes/u/trigger'], env).stdout, /^traceoff/m, 'no trigger left behind');
});

test.run();
