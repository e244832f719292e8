// `npm run bench`: runs the benchmark sections in one invocation and prints their tables.
//   node dist/bench/index.js [section...] [--iters N]
// Each section is a file under bench/sections exporting a Section; add new ones (e.g. kprobe per-hit costs)
// to the list below.
import { setFlagsFromString } from 'node:v8';
import type { Section } from './sections/section.js';
import { compute } from './sections/compute.js';
import { micro } from './sections/micro.js';
import { kprobe } from './kprobe.js';
import { workloads } from './sections/workloads.js';
import { dwarf } from './sections/dwarf.js';
import { real } from './sections/real.js';
import { linux } from './sections/linux.js';
import { start } from './sections/start.js';
import { printGoals } from './lib/goals.js';

const SECTIONS: Section[] = [compute, micro, workloads, kprobe, dwarf, real, linux, start];

async function main(): Promise<number> {
  // the emulator runs with bin/ktrace's V8 flag (its INLINE_FLAG), so that the figures are the CLI's
  setFlagsFromString('--max-inlined-bytecode-size-cumulative=100');
  const argv = process.argv.slice(2);
  const opts: Record<string, string> = {};
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench -- [section...] [--iters N] [--workload PATH] [--micro-iters N]\n\nsections:');
      for (const s of SECTIONS) console.log(`  ${s.name.padEnd(10)} ${s.description}`);
      console.log('\nexamples:\n  npm run bench\n  npm run bench -- compute --iters 5000\n  npm run bench -- micro');
      return 0;
    }
    if (a.startsWith('--')) { opts[a.slice(2)] = argv[++i] ?? ''; continue; }
    names.push(a);
  }
  const unknown = names.filter((n) => !SECTIONS.some((s) => s.name === n));
  if (unknown.length) {
    console.error(`bench: unknown section ${unknown.join(', ')} (sections: ${SECTIONS.map((s) => s.name).join(', ')})`);
    return 2;
  }
  let failed = 0;
  for (const s of SECTIONS) {
    if (names.length && !names.includes(s.name)) continue;
    console.log(`\n== ${s.name}: ${s.description}`);
    const ok = await s.run(opts);
    if (!ok) failed++;
  }
  printGoals();
  return failed ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (e: unknown) => {
  console.error(`bench: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
});
