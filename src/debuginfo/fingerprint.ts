// What identifies an image's content beyond its cache key (src/cache.ts imageKey), for every entry built
// from it: the debug-info index (index-cache.ts), the CLI's symbol index and static texts
// (cli/symbol-index.ts), the Linux task layout. Kept apart from index-cache.ts, which loads the DWARF
// decoder: a warm `disasm` or `funcs` checks a fingerprint and decodes no DWARF.
import { checksum } from '../cache.js';
import type { Image } from '../elf/image.js';

/** Bytes sampled at each end of every sampled section for the fingerprint. */
const SAMPLE = 4096;

/** The length of imageFingerprint's value. */
export const FINGERPRINT_LEN = 16;

/**
 * What identifies the image's content beyond its cache key: its size, its section headers, and the
 * first and last 4 KiB of every sampled section (by default every .debug_* one: a few small reads): an
 * edited or replaced file that kept its build-id still gets a new index. FINGERPRINT_LEN bytes: the
 * size, then CRC-32s of the section headers and of the samples.
 */
export function imageFingerprint(image: Image, sampled: (name: string) => boolean = DEBUG_SECTIONS): Buffer {
  // Once per image and choice of sections in a process (a query checks several entries against it).
  let byChoice = fingerprints.get(image);
  if (!byChoice) fingerprints.set(image, (byChoice = new Map()));
  let fp = byChoice.get(sampled);
  if (!fp) byChoice.set(sampled, (fp = computeFingerprint(image, sampled)));
  return fp;
}
const DEBUG_SECTIONS = (n: string) => n.startsWith('.debug_');
const fingerprints = new WeakMap<Image, Map<(name: string) => boolean, Buffer>>();

function computeFingerprint(image: Image, sampled: (name: string) => boolean): Buffer {
  const out = Buffer.alloc(FINGERPRINT_LEN);
  out.writeDoubleLE(image.source.size, 0);
  out.writeUInt32LE(checksum(JSON.stringify(image.sections.map((s) => [s.name, s.type, s.offset, s.size, s.addrBig.toString(16)]))), 8);
  let sum = 0;
  for (const s of image.sections) {
    if (!sampled(s.name) || s.type === 8 || s.size === 0) continue;
    const n = Math.min(SAMPLE, s.size);
    sum = checksum(s.slice(0, n), sum);
    sum = checksum(s.slice(s.size - n, n), sum);
  }
  out.writeUInt32LE(sum, 12);
  return out;
}
