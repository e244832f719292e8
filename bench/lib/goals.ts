// Issue 16's table of goals, gathered from the sections that measure its rows (compute: the user-mode and
// kernel-mode ratios; start: the two short runs) and printed together at the end of one bench invocation
// (`npm run bench -- compute start`), so that every row comes from the same run on the same load.
import { printTable } from './tools.js';

interface GoalRow { what: string; now: string; goal: string; met: boolean }
const rows: GoalRow[] = [];

/** Record one row (a section calls it once per figure it measured). */
export function goal(what: string, now: string, goal: string, met: boolean): void { rows.push({ what, now, goal, met }); }

/** Print the rows recorded in this invocation (nothing when no section recorded one). */
export function printGoals(): void {
  if (rows.length === 0) return;
  console.log("\n== goals: issue 16's table, from this run");
  printTable(['', 'now', 'goal', ''], rows.map((r) => [r.what, r.now, r.goal, r.met ? 'met' : 'MISS']));
  if (rows.length < 4) console.log('(`npm run bench -- compute start` measures every row)');
}
