// `ktrace run --handlers MODULE`: the example module's output against ktrace's own tracing of the same
// run; a handler that throws, one that loops over guest memory (the deterministic read budget) and one
// that loops without touching the kernel (the host-time watchdog) are each reported on their probe in
// one line and leave the kernel's run exactly the unprobed one; a bad module is a one-line error.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'ktrace-handlers-'));
const env = { ...process.env, KTRACE_STATE: join(dir, 'state') };
function ktrace(...args: string[]): { out: string; err: string; status: number | null } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'ktrace'), ...args], { cwd: ROOT, encoding: 'utf8', env });
  return { out: r.stdout, err: r.stderr, status: r.status };
}
function mod(name: string, text: string): string { const f = join(dir, name); writeFileSync(f, text); return f; }
const summary = (out: string) => JSON.parse(out.trim().split('\n').pop()!);

test('examples/probes.mjs: one trace line per vfs_read hit with its caller, the exit report in the log, deterministic', () => {
  const r = ktrace('run', 'cat', '--handlers', 'examples/probes.mjs', '--no-timing');
  assert.is(r.status, 0, r.err);
  const again = ktrace('run', 'cat', '--handlers', 'examples/probes.mjs', '--no-timing');
  assert.is(again.out, r.out);
  const hits = summary(ktrace('run', 'cat', '-a', 'p:probe/vfs_read vfs_read', '--json').out).probes[0].hits;
  const lines = r.out.split('\n').filter((l) => l.includes(' vfs_read_pre: '));
  assert.is(lines.length, hits);
  assert.ok(lines.every((l) => /: vfs_read_pre: count=\d+ from __x64_sys_read\+0x[0-9a-f]+\/0x[0-9a-f]+$/.test(l)), lines[0]);
  assert.match(r.err, new RegExp(`vfs_read: init: ${hits} calls\\nvfs_read latency: ${hits} calls, min \\d+ ns`));
  assert.match(r.err, /nmissed: kprobe 0, kretprobe 0/);
});

test('a throwing, a memory-looping and a pure-looping handler: one line each on their probe, the kernel run unchanged', () => {
  const plain = summary(ktrace('run', 'cat', '--json', '--no-timing').out);
  const f = mod('bad.mjs', `
    let spun = false;
    export const kprobes = [
      { symbol_name: 'vfs_read', pre_handler() { throw new Error('boom'); } },
      { symbol_name: 'vfs_write', pre_handler(p, regs, k) { for (;;) k.readKernel(regs.sp); } },
      { symbol_name: 'do_sys_openat2', pre_handler() { if (!spun) { spun = true; for (;;) {} } } },
    ];
    export function exit(k) { k.printk('missed ' + kprobes.map((p) => p.nmissed).join(' ')); }
  `);
  const r = ktrace('run', 'cat', '--handlers', f, '--json', '--no-timing');
  assert.is(r.status, 0, r.err);
  const s = summary(r.out);
  assert.equal(s.syscalls, plain.syscalls);
  assert.is(s.instructions, plain.instructions, 'the kernel executed exactly the unprobed run');
  const errs = r.err.split('\n').filter((l) => l.startsWith('ktrace: run: --handlers: '));
  const m = /missed (\d+) (\d+) (\d+)/.exec(r.err)!;
  assert.ok(m, r.err);
  assert.equal(errs.sort(), [
    'ktrace: run: --handlers: do_sys_openat2: pre_handler failed 1 time (counted in nmissed): ran longer than 5000 ms of host time',
    `ktrace: run: --handlers: vfs_read: pre_handler failed ${m[1]} times (counted in nmissed): boom`,
    `ktrace: run: --handlers: vfs_write: pre_handler failed ${m[2]} times (counted in nmissed): more than 100000 guest-memory reads in one handler call`,
  ]);
  assert.is(m[3], '1');
});

test('bad modules: one line, exit 1', () => {
  const missing = ktrace('run', 'cat', '--handlers', join(dir, 'nope.mjs'));
  assert.is(missing.status, 1);
  assert.match(missing.err, /^ktrace: run: --handlers .*nope\.mjs: No such file or directory\n$/);
  const empty = ktrace('run', 'cat', '--handlers', mod('empty.mjs', 'export const x = 1;'));
  assert.is(empty.status, 1);
  assert.match(empty.err, /exports no kprobes, kretprobes or init\n$/);
  const unknown = ktrace('run', 'cat', '--handlers', mod('unknown.mjs', "export const kprobes = [{ symbol_name: 'no_such_fn' }];"));
  assert.is(unknown.status, 1);
  assert.match(unknown.err, /^ktrace: run: --handlers .*: register_kprobe\(no_such_fn\) failed, returned -2: unknown symbol no_such_fn\n$/);
  const syntax = ktrace('run', 'cat', '--handlers', mod('syntax.mjs', 'export const = ;'));
  assert.is(syntax.status, 1);
  assert.is(syntax.err.split('\n').length, 2, syntax.err);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
