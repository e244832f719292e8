// Test scaffolding: the binaries the DWARF tests run on, loaded from fixtures/dwarf (see oracles.json).
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Dwarf } from '../../src/dwarf/index.js';
import { elfSections, type ElfSection } from './elf-sections.js';
import { FIXTURES, sha256, type OracleManifestEntry } from './oracle.js';

export interface Target {
  id: string; path: string; bytes: Uint8Array; sections: Map<string, ElfSection>; dwarf: () => Dwarf; manifest: OracleManifestEntry;
  /** The ELF changed since its oracle outputs were committed (the fixture kernel is rebuilt by its own helper). */
  stale: boolean;
}

export function manifest(): Record<string, OracleManifestEntry> {
  return JSON.parse(readFileSync(`${FIXTURES}oracles.json`, 'utf8'));
}

export function loadTarget(id: string): Target {
  const m = manifest()[id];
  if (!m) throw new Error(`no oracle manifest entry for ${id}`);
  const path = FIXTURES + m.elf;
  if (!existsSync(path)) throw new Error(`${id}: its ELF ${path} is missing (fixtures/dwarf/oracles.json names it; regenerate with make-oracles)`);
  const raw = readFileSync(path);
  const bytes = path.endsWith('.gz') ? gunzipSync(raw) : raw;
  const sections = elfSections(bytes);
  return {
    id, path, bytes, sections, manifest: m, stale: sha256(bytes) !== m.sha256,
    dwarf: () => new Dwarf((n) => sections.get(n)?.bytes, { ehFrameAddress: sections.get('.eh_frame')?.addr }),
  };
}

/** Every target the manifest names: a missing ELF fails loudly in loadTarget, never drops the target. */
export function targetIds(): string[] {
  return Object.keys(manifest());
}

export { sha256 };
