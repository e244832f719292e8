// Sets of byte ranges as one sorted flat array [start0, end0, start1, end1, ...] of merged, disjoint
// half-open ranges: what boot executed (kernel/snapshot.ts), the text Linux patches at boot
// (elf/kernel-sections.ts bootPatchedRanges). A lookup is a binary search, with no object per range.

/** The union of `r` ([start, end) pairs, in any order; sorted in place) as a merged flat array. */
export function mergeRanges(r: [number, number][]): number[] {
  r.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [s, e] of r) {
    const n = out.length;
    if (n > 0 && s <= out[n - 1]) out[n - 1] = Math.max(out[n - 1], e);
    else out.push(s, e);
  }
  return out;
}

/** Does [a, b) meet one of the merged ranges? */
export function rangesMeet(ranges: ArrayLike<number>, a: number, b: number): boolean {
  let lo = 0, hi = ranges.length / 2;
  while (lo < hi) { const m = (lo + hi) >> 1; if (ranges[2 * m + 1] <= a) lo = m + 1; else hi = m; }
  return lo < ranges.length / 2 && ranges[2 * lo] < b;
}
