// Not a test: scripts/test.mjs runs `node prepare-snapshots.js CPUS` before the test files that restore
// the bundled Linux's boot snapshot on CPUS CPUs (those marked "linux-snapshots:" in their header), so
// the files running in parallel after it find the snapshot in the run's shared cache instead of each
// booting cold (a cold boot is ~22 s of CPU on 1 CPU, ~40 s on 2). It makes the snapshot the way the
// tests do, through the first run of a workload (cat, seed 1: the key the tests use), and fails when
// that run did not start from it. A test file run alone makes the snapshot itself on its first run.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Image } from '../../../src/elf/image.js';
import { FIXTURES } from '../../../src/paths.js';
import { parseWorkload } from '../../../src/kernel/workload/parser.js';
import { runScript } from '../../../src/kernel/session.js';
import type { Platform } from '../../../src/kernel/platform.js';
import { bundledLinuxPath, LINUX_FIXTURE_DIR } from '../../../src/kernel/linux/bundle.js';
import { cacheEnabled } from '../../../src/cache.js';
import '../../../src/kernel/linux/task-layout.js'; // Linux's task layout reader (kernel/task-layout.ts)

const cpus = Number(process.argv[2]);
if (!(cpus >= 1 && cpus <= 4)) {
  console.error('usage: prepare-snapshots.js CPUS (1 to 4)');
  process.exit(2);
}
if (!existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'))) {
  console.log('SKIP fixtures/linux/vmlinux.br not built yet: no Linux boot snapshot to prepare');
} else if (!cacheEnabled()) {
  console.log('SKIP the cache is off (KTRACE_NO_CACHE): no boot snapshot to prepare');
} else {
  const image = Image.load(readFileSync(bundledLinuxPath()));
  const name = 'cat.wl';
  let pl!: Platform;
  const r = runScript(image, parseWorkload(name, readFileSync(join(FIXTURES, 'workloads', name), 'utf8')), {
    cpus, seed: 1, maxInsns: 400_000_000, attach: (p) => { pl = p; },
  });
  if (pl.bootedFrom.kind !== 'snapshot' || r.end.kind !== 'poweroff') {
    console.error(`prepare-snapshots: ${cpus} CPU(s): the run did not start from a boot snapshot (${pl.bootedFrom.why || r.end.kind})`);
    process.exit(1);
  }
}
