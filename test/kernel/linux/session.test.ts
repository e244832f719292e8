// The bundled workloads on the bundled real Linux 6.1 (fixtures/linux): Linux boots to ktrace's /init,
// the script's system calls run as real user processes, and the run powers off through pm_power_off.
// The runs start from the boot snapshot (kernel/snapshot.ts), made once per cache by the first.
// linux-snapshots: 1 (the boot snapshots this file restores: scripts/test.mjs makes them first)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Image } from '../../../src/elf/image.js';
import { FIXTURES } from '../../../src/paths.js';
import { parseWorkload } from '../../../src/kernel/workload/parser.js';
import { runScript, type RunResult } from '../../../src/kernel/session.js';
import type { Platform } from '../../../src/kernel/platform.js';
import { renderRunSummary, runResultJson } from '../../../src/output/run-summary.js';
import { bundledLinuxPath, LINUX_FIXTURE_DIR } from '../../../src/kernel/linux/bundle.js';
import { SYSCALLS } from '../../../src/kernel/workload/syscalls.js';
import '../../../src/kernel/linux/task-layout.js'; // Linux's task layout reader (kernel/task-layout.ts)

const built = existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'));
const image = built ? Image.load(readFileSync(bundledLinuxPath())) : undefined;
const dir = join(FIXTURES, 'workloads');

function run(name: string, seed = 1, attach?: (p: Platform) => void): RunResult {
  const src = readFileSync(join(dir, name), 'utf8');
  return runScript(image!, parseWorkload(name, src), { cpus: 1, seed, maxInsns: 400_000_000, attach });
}
// The tiered runs the tests share (each restores the boot snapshot: about a second of CPU): a workload's
// first run is kept for the later tests that check the same run.
const ran = new Map<string, RunResult>();
function once(name: string, seed = 1, attach?: (p: Platform) => void): RunResult {
  const key = `${name}:${seed}`;
  let r = ran.get(key);
  if (r === undefined) ran.set(key, r = run(name, seed, attach));
  return r;
}

test('cat on real Linux: its expectations hold (the files and /proc/version), and it powers off', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  const r = once('cat.wl');
  const why = renderRunSummary(r, { timing: false }) + '\n' + r.console.slice(-3000);
  assert.equal(r.end, { kind: 'poweroff', status: 0 }, why);
  assert.equal(r.failures, [], why);
  assert.ok(r.syscalls.read.count >= 36, why);
  assert.match(r.console, /Welcome to the ktrace fixture kernel\./);
  assert.match(r.console, /Linux version 6\.1\.\d+ \(ktrace@ktrace\)/);
  // boot facts: the 8250 console, the TSC frequency from CPUID (no delay-loop calibration), /init
  assert.match(r.console, /serial8250: ttyS0 at I\/O 0x3f8 \(irq = 4, base_baud = 115200\) is a 16550A/);
  assert.match(r.console, /Calibrating delay loop \(skipped\)/);
  assert.match(r.console, /Run \/init as init process/);
  assert.match(r.console, /reboot: Power down/);
  assert.is(r.probeInstructions, 0);
});

// The bundled workloads that use only Linux's system calls (no call of the miniature kernel's own,
// numbers 500 and up): each passes its expects on real Linux and makes the same system calls, as many
// of each, as on the miniature kernel on one CPU. net-loopback's socketpair(AF_INET) is the miniature's
// extension, made on Linux by the host from a real TCP connection over 127.0.0.1 (user.ts).
const fixtureOnly = SYSCALLS.filter((s) => s.nr >= 500).map((s) => s.name);
const linuxWorkloads = readdirSync(dir).filter((f) => f.endsWith('.wl')).sort()
  .filter((f) => !fixtureOnly.some((name) => new RegExp(`\\b${name}\\b`).test(readFileSync(join(dir, f), 'utf8'))));
const mini = Image.load(readFileSync(join(FIXTURES, 'vmlinux')));

test('every bundled workload with only Linux system calls runs on real Linux with the same expects and calls', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  assert.ok(['cat.wl', 'fork-storm.wl', 'net-loopback.wl', 'pipe-pingpong.wl'].every((w) => linuxWorkloads.includes(w)), linuxWorkloads.join(' '));
  assert.not.ok(linuxWorkloads.includes('compute.wl'));
  const counts = (r: RunResult) => Object.fromEntries(Object.entries(r.syscalls).map(([k, v]) => [k, v.count]));
  for (const w of linuxWorkloads) {
    const r = once(w);
    const why = `${w}: ` + renderRunSummary(r, { timing: false }) + '\n' + r.console.slice(-2000);
    assert.equal(r.end, { kind: 'poweroff', status: 0 }, why);
    assert.equal(r.failures, [], why);
    const m = runScript(mini, parseWorkload(w, readFileSync(join(dir, w), 'utf8')), { cpus: 1, seed: 1, maxInsns: 100_000_000 });
    assert.equal(m.failures, [], `${w} on the miniature kernel`);
    assert.equal(counts(r), counts(m), `${w}: the system calls made, on Linux and on the miniature kernel`);
  }
});

test('net-loopback on real Linux: the socket pair is a TCP connection over 127.0.0.1, and its data takes the IP path', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  let counts!: Float64Array;
  const names = ['__sys_socketpair', '__sys_connect', 'inet_csk_accept', 'tcp_sendmsg', 'ip_queue_xmit', 'loopback_xmit', 'tcp_v4_rcv', 'tcp_recvmsg'];
  const src = readFileSync(join(dir, 'net-loopback.wl'), 'utf8');
  const r = runScript(image!, parseWorkload('net-loopback.wl', src), {
    cpus: 1, seed: 1, maxInsns: 400_000_000,
    attach: (p) => {
      counts = p.machine.countExecutions(names.map((n) => image!.symbolAddr(n)!));
    },
  });
  assert.equal(r.failures, []);
  const h = new Map(names.map((n, i) => [n, counts[i]]));
  assert.is(h.get('__sys_socketpair'), 0, 'Linux is never asked for an AF_INET pair');
  assert.is(h.get('__sys_connect'), 1);
  assert.is(h.get('inet_csk_accept'), 1);
  assert.is(h.get('tcp_sendmsg'), 64);
  // segments, not sends (Nagle coalesces small writes while an ACK is outstanding), and the ACKs
  for (const n of ['ip_queue_xmit', 'loopback_xmit', 'tcp_v4_rcv']) assert.ok(h.get(n)! >= 8, `${n}: ${h.get(n)}`);
  assert.ok(h.get('tcp_recvmsg')! >= 64);
});

// The emulator's tiers on real Linux: a workload from the boot snapshot, tiered (the default), every
// block compiled on its first entry, and one instruction at a time: identical results, console,
// instruction count and emulated time. By default fork-storm, seed 1 (its tiered run is the one the
// workload test above made): compiled only, it once ended 21 instructions (an iteration of expand()'s
// loop in mm/page_alloc.c) short, a block holding an address twice (test/emu/machine.test.ts).
// KTRACE_LONG=1: every bundled workload and default.wl (its miniature-only calls get -ENOSYS, the same
// in each tier), two seeds, and a cold boot compiled against interpreted.
const LONG = process.env.KTRACE_LONG === '1';
type Tier = [string, (m: import('../../../src/emu/machine.js').Machine) => void];
const TIERS: Tier[] = [['tiered', () => {}], ['compiled', (m) => { m.hotAfter = 1; }], ['interpreted', (m) => { m.interpretOnly = true; }]];
function tiersAgree(name: string, seed: number, tiers: Tier[], snapshot = true): void {
  const src = readFileSync(join(dir, name), 'utf8');
  const out = tiers.map(([tier, set]) => {
    // a tiered run from the snapshot is the shared one (once)
    const r = tier === 'tiered' && snapshot ? once(name, seed)
      : runScript(image!, parseWorkload(name, src), { cpus: 1, seed, maxInsns: 400_000_000, snapshot, attach: (p) => set(p.machine) });
    return { r, json: JSON.stringify({ end: r.end, insns: r.instructions, ns: r.emulatedNs, console: r.console, syscalls: r.syscalls, failures: r.failures }) };
  });
  assert.is(out[0].r.end.kind, 'poweroff', `${name}: ${out[0].r.console.slice(-500)}`);
  for (let i = 1; i < out.length; i++) assert.is(out[i].json, out[0].json, `${name}, seed ${seed}: ${tiers[i][0]} against ${tiers[0][0]}`);
}

test('real Linux: fork-storm ends identically tiered, compiled only and interpreted only', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  tiersAgree('fork-storm.wl', 1, TIERS);
});

test('real Linux: every workload on two seeds in each tier, and a cold boot compiled against interpreted (test:long)', () => {
  if (!image || !LONG) return;
  for (const w of [...linuxWorkloads, 'default.wl']) for (const seed of [1, 2]) if (!(w === 'fork-storm.wl' && seed === 1)) tiersAgree(w, seed, TIERS);
  tiersAgree('cat.wl', 3, [TIERS[1], TIERS[2]], false);
});

test('same kernel, workload and seed give byte-identical results on real Linux', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  // from the boot snapshot (the first run of the test run made it): seconds each; the first test's run
  // against a new one
  const strip = (r: RunResult) => runResultJson({ ...r, hostSeconds: 0, mips: 0 });
  assert.is(strip(run('cat.wl')), strip(once('cat.wl')));
});

test.run();
