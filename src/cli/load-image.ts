// The one place the CLI reads a vmlinux (src/elf/open.ts): its ElfErrors become `ktrace: <file>: <message>`.
// The file is opened and its headers read; sections are read when a command first needs them. Kept
// apart from image.ts (which adds the boot checks of `run` and `tui`) so that the static commands load
// no boot code.
import type { Image } from '../elf/image.js';
import { ElfError } from '../elf/errors.js';
import { openImage } from '../elf/open.js';
import { CliError } from './errors.js';

/** openImage (src/elf/open.ts), its ElfError as the CLI's one-line CliError (`ktrace: <file>: <message>`). */
export function loadImage(path: string): Image {
  try {
    return openImage(path);
  } catch (e) {
    if (e instanceof ElfError) throw new CliError(e.message);
    throw e;
  }
}

/** Images this big get the persistent symbol index (src/cli/symbol-index.ts, loaded only for them). */
export const SYMBOL_INDEX_MIN = 64 << 20;

/** loadImage, with the symbol index attached when the image is big enough to have one. */
export async function loadIndexedImage(path: string): Promise<Image> {
  const img = loadImage(path);
  if (img.source.size >= SYMBOL_INDEX_MIN) await (await import('./symbol-index.js')).attachSymbolIndex(img, path);
  return img;
}
