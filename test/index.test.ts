// The package's public entry, used only as an installed package: `npm pack` of this tree, the tarball
// unpacked into a temporary project's node_modules/ktrace with its dependencies linked from this
// repository's node_modules (no network), then a consumer module that imports 'ktrace' by name: the
// kprobes API in kprobes.rst's names, negative errnos, enable/disable, kretprobes with entry_handler and
// data, the tracefs layer, nofault reads whose faults reach fault_handler, and the type declarations
// (the consumer is type-checked against the installed .d.ts with tsc).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../src/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'ktrace-pack-'));
let consumer = '';

/** Pack, unpack into DIR/node_modules/ktrace, link the dependencies; returns the project dir. */
function install(): string {
  const out = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop()!;
  const proj = join(dir, 'proj');
  const pkgDir = join(proj, 'node_modules', 'ktrace');
  mkdirSync(pkgDir, { recursive: true });
  execFileSync('tar', ['xzf', join(dir, out), '-C', pkgDir, '--strip-components=1']);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  for (const dep of Object.keys(pkg.dependencies ?? {})) {
    const to = join(proj, 'node_modules', dep);
    mkdirSync(join(to, '..'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', dep), to);
  }
  // what a TypeScript consumer has beside it
  mkdirSync(join(proj, 'node_modules', '@types'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(proj, 'node_modules', '@types', 'node'));
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  return proj;
}

const CONSUMER = `
import { openKernel, px, regs_return_value, KPROBE_FLAG_DISABLED, EINVAL, ENOENT } from 'ktrace';
import type { kprobe, kretprobe, pt_regs, KernelSession } from 'ktrace';

const out: Record<string, unknown> = {};
const k = openKernel();
const hits: number[] = [];
const kp: kprobe = { symbol_name: 'vfs_read', pre_handler: (p: kprobe, regs: pt_regs) => { hits.push(regs.ip); return 0; } };
const off: kprobe = { symbol_name: 'vfs_write', flags: KPROBE_FLAG_DISABLED, pre_handler: () => { out.disabledHit = true; } };
const bad: kprobe = { symbol_name: 'no_such_function' };
const both: kprobe = { symbol_name: 'vfs_read', addr: 1 };
const never: kprobe = { symbol_name: 'vfs_read', addr: 12345 };
let faults: number[] = [];
const faulty: kprobe = {
  symbol_name: 'vfs_read',
  pre_handler: () => { const b = new Uint8Array(8); out.nofault = s!.copy_from_kernel_nofault(b, -4096, 8); return 0; },
  fault_handler: (_p: kprobe, _r: pt_regs, trapnr: number) => { faults.push(trapnr); return 0; },
};
const lat: number[] = [];
const rp: kretprobe = {
  kp: { symbol_name: 'vfs_read' }, data_size: 8, maxactive: 0,
  entry_handler: (ri, regs) => { new DataView(ri.data.buffer, ri.data.byteOffset).setBigUint64(0, s!.ktime_get(), true); return 0; },
  handler: (ri, regs) => { lat.push(Number(s!.ktime_get() - new DataView(ri.data.buffer, ri.data.byteOffset).getBigUint64(0, true))); out.ret = Number(regs_return_value(regs)); return 0; },
};
let s: KernelSession | undefined;
const r = k.run({
  workload: 'cat',
  init(ks) {
    s = ks;
    out.reg = ks.register_kprobe(kp);
    out.regOff = ks.register_kprobe(off);
    out.bad = ks.register_kprobe(bad);
    out.both = ks.register_kprobe(both);
    out.faulty = ks.register_kprobe(faulty);
    out.rp = ks.register_kretprobe(rp);
    out.maxactive = rp.maxactive;
    out.again = ks.register_kprobe(kp);
    ks.unregister_kprobe(never);
    out.neverAddr = never.addr ?? null;
    out.ev = ks.writeFile('kprobe_events', 'p:myread vfs_read count=%dx:u64');
    out.en = ks.writeFile('events/kprobes/myread/enable', '1');
    out.list = ks.readFile('/sys/kernel/debug/kprobes/list');
  },
  exit(ks) { out.profile = ks.readFile('kprobe_profile'); out.enableUnreg = ks.enable_kprobe(bad); },
});
out.addr = kp.addr === hits[0] - 1;
out.hits = hits.length;
out.faults = faults;
out.nmissed = faulty.nmissed;
out.lat = lat.length > 0 && lat.every((x) => x > 0);
out.exit = r.exitCode;
out.traceLines = r.traceLines.filter((l) => l.includes('myread:')).length;
out.px = px(kp.addr!);
out.errnos = [EINVAL, ENOENT];
console.log(JSON.stringify(out));
`;

test('npm pack, unpacked and linked offline: the tarball holds the entry, the declarations, the kernel and the examples', () => {
  consumer = install();
  const pkg = join(consumer, 'node_modules', 'ktrace');
  for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/lib/kernel.d.ts', 'fixtures/vmlinux', 'fixtures/workloads/cat.wl',
    'examples/kprobe_example.mjs', 'bin/ktrace']) assert.ok(existsSync(join(pkg, f)), f);
  assert.not.ok(existsSync(join(pkg, 'dist/test')), 'tests are not packed');
});

test('import from "ktrace": probes, kretprobes, errnos, tracefs and nofault reads through the public entry only', () => {
  writeFileSync(join(consumer, 'use.ts'), CONSUMER);
  writeFileSync(join(consumer, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', types: ['node'], skipLibCheck: false, lib: ['ES2022'] },
    files: ['use.ts'],
  }));
  // the installed declarations type-check a consumer (tsc from this repository)
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer], { encoding: 'utf8' });
  assert.is(tsc.status, 0, tsc.stdout + tsc.stderr);
  const run = spawnSync(process.execPath, [join(consumer, 'out', 'use.js')], { cwd: consumer, encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  const o = JSON.parse(run.stdout.trim().split('\n').pop()!);
  assert.is(o.reg, 0);
  assert.is(o.regOff, 0);
  assert.is(o.bad, -2, 'unknown symbol: -ENOENT');
  assert.is(o.both, -22, 'symbol_name and addr: -EINVAL');
  assert.is(o.again, -22, 're-registering: -EINVAL');
  assert.is(o.neverAddr, null, 'unregistering a never-registered probe clears addr');
  assert.ok(o.hits > 0, 'vfs_read hit');
  assert.ok(o.addr, 'p->addr is the probed address, regs->ip the address after the int3');
  assert.is(o.disabledHit, undefined, 'a probe registered disabled is not hit');
  assert.is(o.rp, 0);
  assert.is(o.maxactive, 10, 'default maxactive written back: max(10, 2*NR_CPUS)');
  assert.ok(o.lat, 'kretprobe latency in emulated ns');
  assert.is(o.nofault, -14, 'copy_from_kernel_nofault of an unmapped address: -EFAULT');
  assert.ok(o.faults.length > 0 && o.faults.every((t: number) => t === 14), 'the fault reached fault_handler with trap 14');
  assert.is(o.nmissed, o.faults.length, 'each fault counted in nmissed');
  assert.is(o.exit, 0, 'the run was not ended by the faults');
  assert.ok(o.traceLines > 0, 'kprobe_events line recorded into the trace');
  assert.is(o.enableUnreg, -22);
  assert.match(o.list, /k {2}vfs_read\+0x0/);
  assert.match(o.profile, /myread/);
  assert.is(o.ev, 0);
  assert.is(o.en, 0);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
