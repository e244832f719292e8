// The workload loader without the CLI: bundled names and paths, the bound on what it reads, and its two
// kinds of failure (a file it cannot read: WorkloadFileError; a script with a mistake: the parser's
// WorkloadError, with its caret lines), which the CLI and the library each print in their own form.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledWorkloads, loadWorkload, MAX_WORKLOAD_BYTES, readBounded, resolveWorkload, WorkloadFileError } from '../../../src/kernel/workload/load.js';
import { WorkloadError } from '../../../src/kernel/workload/error.js';
import { workloadCliError } from '../../../src/cli/workload.js';
import { CliError } from '../../../src/cli/errors.js';
import { Kernel } from '../../../src/lib/kernel.js';

const tmp = mkdtempSync(join(tmpdir(), 'ktrace-load-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

function thrown(f: () => unknown): unknown {
  try { f(); } catch (e) { return e; }
  throw new Error('expected a failure');
}

test('a bundled name resolves to its file; a path is kept as given; a script parses', () => {
  assert.ok(bundledWorkloads().includes('default'));
  assert.is(resolveWorkload('default').display, 'default.wl');
  const p = join(tmp, 'ok.wl');
  writeFileSync(p, 'getpid\ngetpid\n');
  assert.equal(resolveWorkload(p), { path: p, display: p });
  assert.is(loadWorkload(p).body.length, 2);
});

test('what cannot be read is a one-line WorkloadFileError', () => {
  const missing = thrown(() => loadWorkload(join(tmp, 'nope.wl')));
  assert.instance(missing, WorkloadFileError);
  assert.match((missing as Error).message, /not found: not a file, and not a bundled workload \(.*default/);
  const dir = thrown(() => loadWorkload(tmp));
  assert.instance(dir, WorkloadFileError);
  assert.is((dir as Error).message, `${tmp}: Is a directory`);
  const big = join(tmp, 'big.wl');
  writeFileSync(big, Buffer.alloc(MAX_WORKLOAD_BYTES + 1, 0x20));
  assert.is((thrown(() => loadWorkload(big)) as Error).message, `${big}: not a workload script: larger than 1024 KiB`);
  const edge = join(tmp, 'edge.wl');
  writeFileSync(edge, Buffer.alloc(MAX_WORKLOAD_BYTES, 0x20));
  assert.is(readBounded(edge, MAX_WORKLOAD_BYTES).length, MAX_WORKLOAD_BYTES);
});

test('a script with a mistake is the parser\'s WorkloadError; the CLI prints it bare, the library as its text', () => {
  const bad = join(tmp, 'bad.wl');
  writeFileSync(bad, 'getpid\nno_such_call 1\n');
  const e = thrown(() => loadWorkload(bad));
  assert.instance(e, WorkloadError);
  const text = (e as WorkloadError).format();
  assert.match(text, /bad\.wl:2/);
  const cli = workloadCliError(e) as CliError;
  assert.instance(cli, CliError);
  assert.is(cli.message, text);
  assert.ok(cli.bare);
  const file = workloadCliError(thrown(() => loadWorkload(tmp))) as CliError;
  assert.instance(file, CliError);
  assert.is(file.message, `${tmp}: Is a directory`);
  assert.not.ok(file.bare);
  // the library (src/lib/kernel.ts) reads workloads through the same loader, without the CLI
  const k = new Kernel();
  assert.is((thrown(() => k.run({ workload: bad })) as Error).message, text);
  assert.is((thrown(() => k.run({ workload: tmp })) as Error).message, `${tmp}: Is a directory`);
});

test.run();
