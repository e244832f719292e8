// Internal counters (jart/blink's stats.h idea): enabled with KTRACE_EMU_STATS=1, read with snapshot().
// When off, the hot loop pays one well-predicted branch on a module constant per block.
export const STATS_ON = typeof process !== 'undefined' && process.env.KTRACE_EMU_STATS === '1';
export const stats = {
  blocksRun: 0, singleSteps: 0, blocksCompiled: 0, opsDecoded: 0, invalidations: 0, faults: 0,
  interrupts: 0, tlbFetchMiss: 0, wasmEntries: 0, wasmJsBlocks: 0,
};
export function snapshot(): Record<string, number> { return { ...stats }; }
export function resetStats(): void { for (const k of Object.keys(stats) as (keyof typeof stats)[]) stats[k] = 0; }
