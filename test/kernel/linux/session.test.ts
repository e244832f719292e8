// The bundled workloads on the bundled real Linux 6.1 (fixtures/linux): Linux boots to ktrace's /init,
// the script's system calls run as real user processes, and the run powers off through pm_power_off.
// The runs start from the boot snapshot (kernel/snapshot.ts), made once per cache by the first.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Image } from '../../../src/elf/image.js';
import { FIXTURES } from '../../../src/paths.js';
import { parseWorkload } from '../../../src/kernel/workload/parser.js';
import { runScript, type RunResult } from '../../../src/kernel/session.js';
import { renderRunSummary, runResultJson } from '../../../src/output/run-summary.js';
import { bundledLinuxPath, LINUX_FIXTURE_DIR } from '../../../src/kernel/linux/bundle.js';
import '../../../src/kernel/linux/task-layout.js'; // Linux's task layout reader (kernel/task-layout.ts)

const built = existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'));
const image = built ? Image.load(readFileSync(bundledLinuxPath())) : undefined;
const dir = join(FIXTURES, 'workloads');

function run(name: string, seed = 1): RunResult {
  const src = readFileSync(join(dir, name), 'utf8');
  return runScript(image!, parseWorkload(name, src), { cpus: 1, seed, maxInsns: 400_000_000 });
}

test('cat on real Linux: its expectations hold (the files and /proc/version), and it powers off', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  const r = run('cat.wl');
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

test('same kernel, workload and seed give byte-identical results on real Linux', () => {
  if (!image) { console.log('SKIP fixtures/linux/vmlinux.br not built yet'); return; }
  // from the boot snapshot (the first run of the test run made it): seconds each
  const strip = (r: RunResult) => runResultJson({ ...r, hostSeconds: 0, mips: 0 });
  assert.is(strip(run('cat.wl')), strip(run('cat.wl')));
});

test.run();
