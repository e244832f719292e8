// Real Linux 6.1 (-k linux) as a user runs it: `ktrace -k linux run cat -a vfs_read` as a whole process,
// booted cold (--no-snapshot), and from the boot snapshot, beside the miniature kernel's same command,
// interleaved (A B C A B C ...). CPU seconds (user + sys, from the kernel's accounting of the child:
// the machine's load inflates wall time, not CPU time) and wall. Also the boot to /init in guest
// instructions (the snapshot's point). Target (issue 17): from the snapshot <= 2x the miniature.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';
import { LINUX_FIXTURE_DIR } from '../../src/kernel/linux/bundle.js';
import { median, printTable } from '../lib/tools.js';
import type { Section } from './section.js';

const GNU_TIME = '/usr/bin/time';

interface Run { cpu: number; wall: number; out: string; status: number | null }

function ktrace(args: string[], env: NodeJS.ProcessEnv): Run {
  const bin = join(ROOT, 'bin', 'ktrace');
  const timeFile = join(tmpdir(), `ktrace-bench-linux-${process.pid}`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(GNU_TIME, ['-f', '%U %S', '-o', timeFile, process.execPath, bin, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const [u, s] = readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  rmSync(timeFile, { force: true });
  return { cpu: u + s, wall, out: r.stdout, status: r.status };
}

export const linux: Section = {
  name: 'linux',
  description: '`ktrace -k linux run cat -a vfs_read`: cold boot, from the boot snapshot, and the miniature kernel; Linux on 2 CPUs cold and from its snapshot (CPU and wall medians of --runs, default 3)',
  run(opts) {
    if (!existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'))) { console.log('SKIP fixtures/linux/vmlinux.br is not built'); return true; }
    if (!existsSync(GNU_TIME)) { console.log(`SKIP ${GNU_TIME} (GNU time) is missing: no CPU time of a child`); return true; }
    const runs = Math.max(1, Number(opts.runs ?? 3));
    const state = mkdtempSync(join(tmpdir(), 'ktrace-bench-state-'));
    const env = { ...process.env, KTRACE_STATE: state };
    const cmd = ['run', 'cat', '-a', 'vfs_read', '--json', '--no-timing'];
    const kinds: [string, string[]][] = [
      ['linux, cold boot', ['-k', 'linux', ...cmd, '--no-snapshot']],
      ['linux, from the snapshot', ['-k', 'linux', ...cmd]],
      ['mini, from the snapshot', ['-k', 'mini', ...cmd]],
      ['linux 2 CPUs, cold boot', ['-k', 'linux', ...cmd, '--cpus', '2', '--no-snapshot']],
      ['linux 2 CPUs, from the snapshot', ['-k', 'linux', ...cmd, '--cpus', '2']],
    ];
    let ok = true;
    try {
      // the snapshots made before anything is measured
      for (const [, args] of kinds) if (!args.includes('--no-snapshot')) ktrace(args, env);
      const got = kinds.map(() => [] as Run[]);
      for (let i = 0; i < runs; i++) kinds.forEach(([, args], k) => got[k].push(ktrace(args, env)));
      const summary = (r: Run) => JSON.parse(r.out.trim().split('\n').pop() ?? '{}') as { instructions?: number; exitCode?: number };
      const rows = kinds.map(([name], k) => {
        const rs = got[k];
        const bad = rs.find((r) => r.status !== 0 || summary(r).exitCode !== 0);
        if (bad) ok = false;
        return [name, (summary(rs[0]).instructions ?? 0).toLocaleString('en-US'), median(rs.map((r) => r.cpu)).toFixed(2), median(rs.map((r) => r.wall)).toFixed(2), bad ? `exit ${bad.status}` : 'ok'];
      });
      // cold and restored runs must print the same (the JSON's events and summary)
      if (got[0][0].out !== got[1][0].out) { ok = false; rows.push(['cold and snapshot outputs differ', '', '', '', 'WRONG']); }
      if (got[3][0].out !== got[4][0].out) { ok = false; rows.push(['2 CPUs: cold and snapshot outputs differ', '', '', '', 'WRONG']); }
      printTable(['run', 'guest instructions', 'CPU s', 'wall s', 'status'], rows);
      const ratio = median(got[1].map((r) => r.cpu)) / median(got[2].map((r) => r.cpu));
      const speedup = median(got[0].map((r) => r.cpu)) / median(got[1].map((r) => r.cpu));
      console.log(`snapshot vs cold: ${speedup.toFixed(1)}x faster; linux vs mini (CPU): ${ratio.toFixed(2)}x (target <= 2x${ratio > 2 ? ': MISS' : ''})`);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
    return ok;
  },
};
