// ktrace why: the optimizer's verdict per probe, with the failing check and the instruction.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ktrace, freshState } from './run.js';
import { realVmlinux } from '../../bench/sections/real.js';

test('a one-instruction region is optimized; an fentry site takes the ftrace path', () => {
  const r = ktrace(['why', 'kprobe_target+7', 'vfs_read']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /^[0-9a-f]{16}  kprobe_target\+0x7\/0x[0-9a-f]+  \[OPTIMIZED\]$/m);
  assert.match(r.stdout, /^[0-9a-f]{16}  vfs_read\+0x0\/0x[0-9a-f]+  \[FTRACE\]$/m);
});

test('a refusal names the failing check and the instruction that causes it', () => {
  const r = ktrace(['why', '--json', 'vfs_read+6', 'compute_mix+9']);
  assert.is(r.code, 0, r.stderr);
  const rows = JSON.parse(r.stdout) as { at: string; state: string; reason?: string }[];
  const vr = rows.find((x) => x.at.startsWith('vfs_read+0x6/'))!;
  const cm = rows.find((x) => x.at.startsWith('compute_mix+0x9/'))!;
  assert.is(vr.state, 'int3');
  assert.match(vr.reason!, /indirect jump at vfs_read\+0x[0-9a-f]+/);
  // the jump-table switch: an indirect jump through memory anywhere in the function refuses it (opt.c)
  assert.is(cm.state, 'int3');
  assert.match(cm.reason!, /indirect jump at compute_mix\+0x[0-9a-f]+/);
  // The instruction is quoted in AT&T syntax, as `ktrace disasm` (objdump -d) prints it there.
  for (const x of [vr, cm]) {
    const m = /at (\w+\+0x[0-9a-f]+) \((.*)\): /.exec(x.reason!)!;
    const line = ktrace(['disasm', m[1]!]).stdout.split('\n')[1]!;
    assert.is(m[2], line.split('\t')[2]!.replace(/\s+/g, ' ').replace(/ <[^>]*>$/, ''), x.reason);
    assert.match(m[2]!, /%/);
  }
});

test('without arguments it judges the defined events; bad input is a usage error', () => {
  const state = freshState();
  assert.is(ktrace(['add', 'kprobe_target+7'], { KTRACE_STATE: state }).code, 0);
  // ktrace add enables the event: its probe is optimized; a disabled probe never is
  let r = ktrace(['why'], { KTRACE_STATE: state });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /kprobe_target\+0x7\/0x[0-9a-f]+  \[OPTIMIZED\]/);
  assert.is(ktrace(['disable', 'probe:*'], { KTRACE_STATE: state }).code, 0);
  r = ktrace(['why'], { KTRACE_STATE: state });
  assert.match(r.stdout, /kprobe_target\+0x7\/0x[0-9a-f]+  not optimized: .*disabled/);
  const bad = ktrace(['why', 'nope+']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /is not SYM, SYM\+OFF or an address/);
  const boundary = ktrace(['why', 'vfs_read+4']);
  assert.is(boundary.code, 1);
  assert.match(boundary.stderr, /not on an instruction boundary/);
});

test('every example of `why --help` runs and judges its probe', () => {
  const help = ktrace(['why', '--help']).stdout;
  const examples = [...help.matchAll(/^ +ktrace why (\S+)/gm)].map((m) => m[1]).filter((a) => !a.startsWith('-'));
  assert.ok(examples.length >= 2, help);
  for (const a of examples) {
    const r = ktrace(['why', a]);
    assert.is(r.code, 0, `${a}: ${r.stderr}`);
    assert.match(r.stdout, /^[0-9a-f]{16}  \S+  /);
  }
});

test('one bad spec is reported on stderr, the others are still judged (exit 1)', () => {
  const r = ktrace(['why', 'vfs_read+1', 'kprobe_target+7', 'no_such_fn', 'nope+']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /^[0-9a-f]{16}  kprobe_target\+0x7\/0x[0-9a-f]+  \[OPTIMIZED\]\n$/);
  assert.equal(r.stderr.trimEnd().split('\n').sort(), [
    "ktrace: why: 'nope+' is not SYM, SYM+OFF or an address",
    'ktrace: why: no_such_fn: unknown symbol no_such_fn',
    `ktrace: why: vfs_read+1: ${r.stderr.match(/vfs_read\+0x1\/0x[0-9a-f]+/)![0]} is not on an instruction boundary`,
  ]);
});

test('a disabled event and kprobes/enabled = 0 are told apart', () => {
  const state = freshState();
  assert.is(ktrace(['add', 'kprobe_target+7'], { KTRACE_STATE: state }).code, 0);
  assert.is(ktrace(['disable', 'probe:*'], { KTRACE_STATE: state }).code, 0, 'add enables what it creates');
  assert.match(ktrace(['why'], { KTRACE_STATE: state }).stdout, /not optimized: the probe is disabled$/m);
  assert.is(ktrace(['enable', 'probe:*'], { KTRACE_STATE: state }).code, 0);
  assert.is(ktrace(['fs', 'write', '/sys/kernel/debug/kprobes/enabled', '0'], { KTRACE_STATE: state }).code, 0);
  assert.match(ktrace(['why'], { KTRACE_STATE: state }).stdout,
    /kprobe_target\+0x7\/0x[0-9a-f]+  not optimized: kprobes are disarmed globally \(\/sys\/kernel\/debug\/kprobes\/enabled is 0\)$/m);
});

test("a distribution vmlinux (Debian's, 588 MB): its probes are judged from the image, as its booted kernel would", () => {
  const real = realVmlinux();
  if (!real) { console.log('SKIP why on the real vmlinux: not in the cache (scripts/real-vmlinux.sh fetches it)'); return; }
  const r = ktrace(['-k', real, 'why', 'vfs_read', 'vfs_read+5', 'start_kernel'], { KTRACE_STATE: freshState() }, true);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stdout, /^[0-9a-f]{16}  vfs_read\+0x0\/0x[0-9a-f]+  \[FTRACE\]$/m);
  // CONFIG_RETPOLINE: vfs_read's `jmp __x86_return_thunk` is an indirect jump for can_optimize (opt.c).
  assert.match(r.stdout, /^[0-9a-f]{16}  vfs_read\+0x5\/0x[0-9a-f]+  not optimized: jump into the retpoline thunks \(__x86_return_thunk\) at vfs_read\+0x[0-9a-f]+ \(jmp [0-9a-f]+\)/m);
  // __init text is freed by the time a booted kernel takes probes.
  assert.match(r.stderr, /^ktrace: why: start_kernel: start_kernel\+0x0\/0x[0-9a-f]+ is not kernel text$/m);
  // No probes named: the events defined for the image, judged from it (no machine), as named ones are;
  // the state's own blockers first (a disabled event, optimization off).
  const state = freshState();
  const on = (args: string[]) => ktrace(['-k', real, ...args], { KTRACE_STATE: state }, true);
  const none = on(['why']);
  assert.is(none.code, 0, none.stderr);
  assert.match(none.stdout, /^no probes /);
  for (const spec of ['vfs_read+5', 'do_sys_openat2%return']) assert.is(on(['add', spec]).code, 0);
  const named = on(['why', 'vfs_read+5', 'do_sys_openat2']);
  const defined = on(['why']);
  assert.is(defined.stdout, named.stdout);
  assert.is(defined.code, named.code, defined.stderr);
  assert.is(on(['disable', 'probe:vfs_read']).code, 0);
  assert.match(on(['why']).stdout, /^[0-9a-f]{16}  vfs_read\+0x5\/0x[0-9a-f]+  not optimized: the probe is disabled$/m);
  assert.match(on(['why']).stdout, /do_sys_openat2\+0x0\/0x[0-9a-f]+  \[FTRACE\]$/m);
  assert.is(on(['fs', 'write', '/sys/kernel/debug/kprobes/enabled', '0']).code, 0);
  assert.match(on(['why']).stdout, /vfs_read\+0x5\/0x[0-9a-f]+  not optimized: kprobes are disarmed globally/m);
});

test.run();
