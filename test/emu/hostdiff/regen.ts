// Regenerates the committed host-CPU corpus: node dist-NAME/test/emu/hostdiff/regen.js [seed] [perForm]
// Needs x86-64 Linux and gcc. Writes fixtures/hostdiff/corpus.jsonl.gz.
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from '../../../src/paths.js';
import { type CorpusEntry, writeCorpus } from './corpus.js';
import { SEQ_KEYS, generate, usable } from './gen.js';
import { buildNative, nativeAvailable } from './native.js';

export const CORPUS_PATH = join(ROOT, 'fixtures', 'hostdiff', 'corpus.jsonl.gz');
export const CORPUS_SEED = 20261128;
export const CORPUS_PER_FORM = 24;

function main(): void {
  const seed = Number(process.argv[2] ?? CORPUS_SEED);
  const perForm = Number(process.argv[3] ?? CORPUS_PER_FORM);
  const avail = nativeAvailable();
  if (!avail.ok) { console.error(`cannot regenerate the corpus: ${avail.reason}`); process.exit(1); }
  const { cases, forms, unencodable } = generate(seed, perForm);
  const native = buildNative();
  try {
    const outs = native.run(cases);
    const entries: CorpusEntry[] = cases.map((c, i) => ({ ...c, out: outs[i] })).filter((e) => usable(e, e.out));
    mkdirSync(dirname(CORPUS_PATH), { recursive: true });
    writeCorpus(CORPUS_PATH, entries, { seed, perForm, forms: forms.length, cases: entries.length,
      cpu: cpuModel(), generated: 'node dist-*/test/emu/hostdiff/regen.js' });
    const sigs = entries.filter((e) => !e.out.ok).length;
    console.log(`wrote ${CORPUS_PATH}: ${entries.length} cases (${cases.length - entries.length} sequences dropped), ` +
      `${forms.length} forms + ${SEQ_KEYS.length} sequence lengths, ${sigs} faulting on the host` +
      (unencodable.length ? `; not encodable: ${unencodable.join(' ')}` : ''));
  } finally {
    native.dispose();
  }
}

function cpuModel(): string {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    return /model name\s*:\s*(.*)/.exec(text)?.[1] ?? 'unknown';
  } catch { return 'unknown'; }
}

if (process.argv[1] && process.argv[1].endsWith('regen.js')) main();
