// Can the platform boot this image? The ktrace-pc boot contract (fixtures/kernel/README.md) asks of a
// kernel: an executable (ET_EXEC) linked in the kernel half, its entry point (startup_64) in loaded
// code, a `boot_params` object in loaded writable data for the platform to fill, and
// `secondary_startup_64` where the other CPUs start. Any ELF with symbols loads as an Image; only
// such a kernel boots, and the CLI says what an image lacks before trying.
import type { Image } from '../elf/image.js';
import { BP } from './contract.js';
import { bootRefusal, isLinuxImage } from './linux/bundle.js';

const PF_X = 1, PF_W = 2;
const ET_NAMES: Record<number, string> = { 1: 'a relocatable object (ET_REL)', 3: 'a shared object or PIE (ET_DYN)', 4: 'a core file (ET_CORE)' };

/** What the image lacks to boot on ktrace-pc, one phrase each; empty when it can boot. */
export function bootProblems(img: Image): string[] {
  const out: string[] = [];
  if (img.header.type !== 2) out.push(`it is ${ET_NAMES[img.header.type] ?? `of ELF type ${img.header.type}`}, not an executable (ET_EXEC)`);
  const loaded = img.segments.filter((s) => s.memsz > 0);
  if (loaded.length === 0) out.push('it has no loadable segment');
  else if (loaded.some((s) => s.vaddr >= 0)) {
    out.push(`it is linked at 0x${BigInt.asUintN(64, loaded.find((s) => s.vaddr >= 0)!.vaddrBig).toString(16)}, in user space, not in the kernel half`);
  }
  const inSeg = (addr: number, size: number, flag: number) =>
    loaded.some((s) => (s.flags & flag) !== 0 && addr >= s.vaddr && addr + size <= s.vaddr + s.memsz);
  if (!inSeg(img.header.entry, 1, PF_X)) out.push(`its entry point 0x${BigInt.asUintN(64, img.header.entryBig).toString(16)} is not in loaded code (a distribution kernel is entered through a boot loader at a physical address; the static commands funcs, vars, line, disasm, add, why and fs cat work on it)`);
  const bp = img.symbol('boot_params');
  if (!bp) out.push('it has no boot_params symbol');
  else if (!inSeg(bp.addr, BP.size, PF_W)) out.push(`its boot_params is not ${BP.size} bytes of loaded writable data`);
  const ap = img.symbol('secondary_startup_64');
  if (!ap) out.push('it has no secondary_startup_64 symbol');
  else if (!inSeg(ap.addr, 1, PF_X)) out.push('its secondary_startup_64 is not in loaded code');
  return out;
}

/**
 * Why the platform will not boot `image` (opened from `path`), one line, or null when it will: a real
 * Linux kernel other than the bundled one is refused by its bundle's rule (src/kernel/linux/bundle.ts),
 * named after the `command` that asked (`run: ...`); anything else says what it lacks, naming the file
 * (`a.out: not a bootable ktrace kernel: it has no boot_params symbol, ...`).
 */
export function notBootable(image: Image, path: string, command: string): string | null {
  const refusal = bootRefusal(image);
  if (refusal) return `${command}: ${refusal}`;
  const problems = isLinuxImage(image) ? [] : bootProblems(image);
  return problems.length ? `${path}: not a bootable ktrace kernel: ${problems.join('; ')}` : null;
}
