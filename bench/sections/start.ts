// Starts (issue 16's "Starts", issue 17's speed goal): short runs as a user runs them, whole processes,
// with warm caches (boot snapshot and code cache made by a first, unmeasured run of each), interleaved
// (A B C ... A B C) so that the machine's drifting load falls on all alike, bin/ktrace started as a user
// starts it (its shebang's node flags apply): `node -e 0` (the floor), the
// default `ktrace run`, `ktrace run -a vfs_read -a 'vfs_read%return $retval'`, and `ktrace -k linux run cat
// -a vfs_read --summary` beside the miniature's same command. CPU (user + sys) and wall medians of --runs
// (default 5), peak RSS. Goals: default run <= 0.25 s wall and <= 100 MB, the -a run <= 0.3 s, Linux <= 2x
// the miniature.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../src/paths.js';
import { LINUX_FIXTURE_DIR } from '../../src/kernel/linux/bundle.js';
import { GNU_TIME, median, printTable, timedRun, type ProcessRun } from '../lib/tools.js';
import type { Section } from './section.js';
import { goal as recordGoal } from '../lib/goals.js';

interface Case { name: string; cmd: string; args: string[]; wall?: number; rss?: number }

export const start: Section = {
  name: 'start',
  description: 'short whole runs with warm caches: default `run`, `run -a vfs_read -a vfs_read%return`, `-k linux run cat` vs the miniature (medians of --runs, default 5)',
  run(opts) {
    if (!existsSync(GNU_TIME)) console.log(`(${GNU_TIME}, GNU time, is missing: wall time only, no CPU or RSS)`);
    const runs = Math.max(1, Number(opts.runs ?? 5));
    const state = mkdtempSync(join(tmpdir(), 'ktrace-bench-start-'));
    const env = { ...process.env, KTRACE_STATE: state };
    const bin = join(ROOT, 'bin', 'ktrace');
    const linux = existsSync(join(LINUX_FIXTURE_DIR, 'vmlinux.br'));
    if (!linux) console.log('SKIP -k linux: fixtures/linux/vmlinux.br is not built');
    const cases: Case[] = [
      { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'] },
      { name: 'ktrace run', cmd: bin, args: ['run'], wall: 0.25, rss: 100 },
      { name: "ktrace run -a vfs_read -a 'vfs_read%return $retval'", cmd: bin, args: ['run', '-a', 'vfs_read', '-a', 'vfs_read%return $retval', '--summary'], wall: 0.3 },
      { name: 'ktrace run cat -a vfs_read --summary', cmd: bin, args: ['run', 'cat', '-a', 'vfs_read', '--summary'] },
      ...(linux ? [{ name: 'ktrace -k linux run cat -a vfs_read --summary', cmd: bin, args: ['-k', 'linux', 'run', 'cat', '-a', 'vfs_read', '--summary'] }] : []),
    ];
    let ok = true;
    try {
      for (const c of cases) timedRun(c.cmd, c.args, env); // warm: snapshots, code cache, page cache
      const got = cases.map(() => [] as ProcessRun[]);
      for (let i = 0; i < runs; i++) cases.forEach((c, k) => got[k].push(timedRun(c.cmd, c.args, env)));
      const med = (rs: ProcessRun[], f: (r: ProcessRun) => number | undefined) => {
        const v = rs.map(f).filter((x): x is number => x !== undefined);
        return v.length ? median(v) : undefined;
      };
      const rows = cases.map((c, k) => {
        const rs = got[k];
        const bad = rs.find((r) => r.status !== 0);
        if (bad) ok = false;
        const wall = med(rs, (r) => r.wall)!, cpu = med(rs, (r) => r.cpu), rss = med(rs, (r) => r.rssMB);
        const goal = [c.wall !== undefined ? `wall <= ${c.wall} s${wall > c.wall ? ' MISS' : ''}` : '',
          c.rss !== undefined && rss !== undefined ? `RSS <= ${c.rss} MB${rss > c.rss ? ' MISS' : ''}` : ''].filter(Boolean).join(', ');
        if (c.wall !== undefined) {
          recordGoal(`${c.name} (wall s, CPU s${c.rss !== undefined ? ', peak MB' : ''})`, `${wall.toFixed(2)}, ${cpu === undefined ? '-' : cpu.toFixed(2)}${c.rss !== undefined ? `, ${rss === undefined ? '-' : rss.toFixed(0)}` : ''}`,
            `<= ${c.wall} s${c.rss !== undefined ? `, <= ${c.rss} MB` : ''}`, !bad && wall <= c.wall && (c.rss === undefined || rss === undefined || rss <= c.rss));
        }
        return [c.name, cpu === undefined ? '-' : cpu.toFixed(3), wall.toFixed(3), rss === undefined ? '-' : rss.toFixed(0), bad ? `exit ${bad.status}: ${bad.stderr.trim().split('\n')[0]}` : goal || 'ok'];
      });
      printTable(['command', 'CPU s', 'wall s', 'peak MB', 'goal / status'], rows);
      if (linux) {
        const [l, m] = [got[cases.length - 1], got[cases.length - 2]];
        const cpu = (med(l, (r) => r.cpu) ?? NaN) / (med(m, (r) => r.cpu) ?? NaN), wall = med(l, (r) => r.wall)! / med(m, (r) => r.wall)!;
        console.log(`-k linux vs the miniature, same command: CPU ${cpu.toFixed(2)}x, wall ${wall.toFixed(2)}x (goal <= 2x${wall > 2 ? ': MISS' : ''})`);
      }
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
    return ok;
  },
};
