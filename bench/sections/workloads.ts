// The bundled workloads as a user runs them: `ktrace run NAME --json` as a whole process, several
// times each; the median wall time is what a user waits, hostSeconds what the emulation itself took.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';
import type { Section } from './section.js';
import { median, printTable } from '../lib/tools.js';

const NAMES = ['default', 'cat', 'pipe-pingpong', 'fork-storm', 'net-loopback', 'compute'];

export const workloads: Section = {
  name: 'workloads',
  description: '`ktrace run NAME` as a whole process: wall time, emulation time and MIPS (median of --runs, default 5)',
  run(opts) {
    const runs = Math.max(1, Number(opts.runs ?? 5));
    const bin = join(ROOT, 'bin', 'ktrace');
    const rows: string[][] = [];
    let ok = true;
    // an empty state directory: the user's probe events must not change what is measured
    const state = mkdtempSync(join(tmpdir(), 'ktrace-bench-state-'));
    const env = { ...process.env, KTRACE_STATE: state };
    for (const name of NAMES) {
      const walls: number[] = [], hosts: number[] = [];
      let insns = 0, status = '';
      for (let i = 0; i < runs; i++) {
        const t0 = process.hrtime.bigint();
        const r = spawnSync(process.execPath, [bin, 'run', name, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26, env });
        walls.push(Number(process.hrtime.bigint() - t0) / 1e9);
        let j: { instructions: number; hostSeconds: number; exitCode: number; end: { kind: string } };
        // NDJSON when events are traced: the summary object is the last line
        try { j = JSON.parse(r.stdout.trim().split('\n').pop() ?? ''); } catch { ok = false; status = `bad output (exit ${r.status}): ${r.stderr.trim().split('\n')[0]}`; break; }
        insns = j.instructions; hosts.push(j.hostSeconds);
        status = j.exitCode === 0 ? 'ok' : `exit ${j.exitCode} (${j.end.kind})`;
        if (j.exitCode !== 0) ok = false;
      }
      const h = hosts.length ? median(hosts) : NaN;
      rows.push([name, insns.toLocaleString('en-US'), walls.length ? median(walls).toFixed(3) : '-', h.toFixed(3), (insns / h / 1e6).toFixed(1), status]);
    }
    rmSync(state, { recursive: true, force: true });
    printTable(['workload', 'instructions', 'wall s (median)', 'emulation s', 'MIPS', 'result'], rows);
    console.log('target (issue 4): the default workload in under 2 s of host time');
    return ok;
  },
};
