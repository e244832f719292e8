// lib/argv_split.c: how the kernel splits a kprobe_events line into words. Runs of isspace()
// characters separate words; there is no quoting, so an immediate string cannot hold a space.
const SPACE = /[ \t\n\v\f\r]+/;

export function argvSplit(line: string): string[] {
  return line.split(SPACE).filter((w) => w.length > 0);
}
