// Regenerates the committed oracle outputs for one binary:
//   node dist-dwarf/test/dwarf/make-oracles.js ID ELF [GDB_SAMPLE]
// Writes fixtures/dwarf/ID.{decodedline,info,ranges,scope}.txt.gz and records the ELF's sha256 and the
// tool versions in fixtures/dwarf/oracles.json. Needs readelf (binutils), llvm-dwarfdump and gdb.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { Dwarf } from '../../src/dwarf/index.js';
import { elfSections } from './elf-sections.js';
import { FIXTURES, filterDecodedLine, filterLlvmRanges, filterReadelfInfo, run, sha256, writeGz } from './oracle.js';

export interface OracleManifest {
  [id: string]: { elf: string; sha256: string; tools: string[]; gdbFunctions: string[]; note?: string };
}

/** Out-of-line functions with a unique name (gdb's `info scope NAME` is ambiguous otherwise), sampled evenly. */
export function gdbSample(d: Dwarf, max: number): string[] {
  const names: string[] = [];
  for (const [name, list] of d.functions()) {
    // Exactly one instance: gdb's linespec would pick an inlined copy otherwise.
    if (list.length === 1 && list[0]!.kind === 'function' && /^[A-Za-z_]\w*$/.test(name)) names.push(name);
  }
  names.sort();
  if (names.length <= max) return names;
  const step = names.length / max;
  return Array.from({ length: max }, (_, i) => names[Math.floor(i * step)]!);
}

/** Addresses for the `info line *ADDR` comparison: every byte of small programs, an even sample of big ones. */
export function lineSampleAddresses(d: Dwarf, max: number): number[] {
  const all: number[] = [];
  for (const list of d.functions().values()) for (const f of list) if (f.kind === 'function') for (const r of f.ranges) all.push(r.low, r.high);
  all.sort((a, b) => a - b);
  const lo = all[0]!, hi = all[all.length - 1]!;
  const n = Math.min(max, hi - lo);
  const out = new Set<number>();
  for (let i = 0; i < n; i++) out.add(lo + Math.floor(((hi - lo) * i) / n));
  return [...out];
}

/** gdb `info line *ADDR` for each address, each answer preceded by a `Q <addr>` line. */
export function gdbInfoLine(elf: string, addrs: number[]): string {
  const args = ['-batch', '-nx'];
  for (const a of addrs) {
    const h = '0x' + BigInt.asUintN(64, BigInt(a)).toString(16);
    args.push('-ex', `echo Q ${h}\\n`, '-ex', `info line *${h}`);
  }
  args.push(elf);
  return run('gdb', args);
}

export function gdbScope(elf: string, fns: string[]): string {
  const args = ['-batch', '-nx'];
  for (const f of fns) args.push('-ex', `info scope ${f}`);
  args.push(elf);
  return run('gdb', args);
}

function main(): void {
  const [id, elf, sample] = process.argv.slice(2);
  if (!id || !elf) { console.error('usage: make-oracles ID ELF [GDB_SAMPLE]'); process.exit(2); }
  const bytes = readFileSync(elf);
  const secs = elfSections(bytes);
  const d = new Dwarf((n) => secs.get(n)?.bytes, { ehFrameAddress: secs.get('.eh_frame')?.addr });
  const fns = gdbSample(d, Number(sample ?? 150));
  writeGz(`${FIXTURES}${id}.decodedline.txt.gz`, filterDecodedLine(run('readelf', ['-W', '--debug-dump=decodedline', elf])));
  writeGz(`${FIXTURES}${id}.info.txt.gz`, filterReadelfInfo(run('readelf', ['-W', '--debug-dump=info', elf])));
  writeGz(`${FIXTURES}${id}.ranges.txt.gz`, filterLlvmRanges(run('llvm-dwarfdump', ['--debug-info', elf])));
  writeGz(`${FIXTURES}${id}.scope.txt.gz`, gdbScope(elf, fns));
  writeGz(`${FIXTURES}${id}.infoline.txt.gz`, gdbInfoLine(elf, lineSampleAddresses(d, 600)));
  writeGz(`${FIXTURES}${id}.frames.txt.gz`, run('readelf', ['-W', '--debug-dump=frames-interp', elf]));
  const manPath = `${FIXTURES}oracles.json`;
  const man: OracleManifest = existsSync(manPath) ? JSON.parse(readFileSync(manPath, 'utf8')) : {};
  const tools = [run('readelf', ['--version']).split('\n')[0]!, run('llvm-dwarfdump', ['--version']).split('\n').find((l) => /version/i.test(l))!.trim(), run('gdb', ['--version']).split('\n')[0]!];
  man[id] = { ...(man[id] ?? {}), elf: relative(FIXTURES, resolve(elf)), sha256: sha256(bytes), tools, gdbFunctions: fns };
  writeFileSync(manPath, JSON.stringify(man, null, 2) + '\n');
  console.log(`${id}: ${fns.length} gdb functions, sha256 ${man[id]!.sha256}`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
