// Decoded instructions kept across runs (cache kind 'code', one entry per image): a later run of the same
// image takes its ops from the entry instead of decoding them again with iced-x86, which costs the most of
// a short run's start (the decoder's warm-up, and ~30 calls into its WebAssembly per instruction). Each op
// is used only where guest memory holds its exact bytes then (emu/decode.ts DecodeCache.preload), so the
// entry can change how fast a run starts, never what it does (tested against runs without the cache).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCache, writeCache } from '../cache.js';
import type { Image } from '../elf/image.js';
import type { Machine } from '../emu/machine.js';
import type { OpRecord } from '../emu/decode.js';

const KIND = 'code';

let decoderPrint: string | undefined;
/** What the records depend on: the decoder's source (decode.js, facts.js) and iced-x86's version. */
function decoderFingerprint(): string {
  if (decoderPrint !== undefined) return decoderPrint;
  const h = createHash('sha256');
  const emu = join(dirname(fileURLToPath(import.meta.url)), '..', 'emu');
  for (const f of ['decode.js', 'facts.js', 'iced.js']) h.update(readFileSync(join(emu, f)));
  try { h.update(readFileSync(createRequire(import.meta.url).resolve('iced-x86/package.json'))); } catch { h.update('?'); }
  return (decoderPrint = h.digest('hex').slice(0, 24));
}

/** The entry's name: the image's cache key when known, else its entry point and segment layout (two
 *  images that share it only share a file of records, each still checked against memory). */
function entryName(image: Image, imageKey: string | undefined): string {
  if (imageKey) return imageKey;
  const h = createHash('sha256');
  h.update(String(image.header.entry));
  for (const s of image.segments) h.update(`${s.vaddr}:${s.memsz}:${s.filesz}:${s.flags};`);
  return 'lay-' + h.digest('hex').slice(0, 40);
}

/** Offer the machine the ops earlier runs of this image decoded (nothing when there is no valid entry). */
export function loadCode(machine: Machine, image: Image, imageKey?: string): void {
  const buf = readCache(KIND, entryName(image, imageKey), decoderFingerprint());
  if (buf === null) return;
  let records: OpRecord[];
  try { records = JSON.parse(buf.toString('utf8')) as OpRecord[]; } catch { return; }
  if (Array.isArray(records)) machine.decoder.preload(records);
}

/** Keep what this run decoded for the next one (no write when it decoded nothing new). */
export function saveCode(machine: Machine, image: Image, imageKey?: string): void {
  const records = machine.decoder.records();
  if (records === null) return;
  writeCache(KIND, entryName(image, imageKey), decoderFingerprint(), Buffer.from(JSON.stringify(records)));
}
