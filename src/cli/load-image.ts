// The one place the CLI reads a vmlinux: file errors and ElfErrors become `ktrace: <file>: <message>`.
// The file is opened and its headers read; sections are read when a command first needs them. Kept
// apart from image.ts (which adds the boot checks of `run` and `tui`) so that the static commands load
// no boot code.
import { Image } from '../elf/image.js';
import { ElfError } from '../elf/errors.js';
import { FileSource } from '../elf/source.js';
import { CliError } from './errors.js';

export function loadImage(path: string): Image {
  let src: FileSource;
  try {
    src = new FileSource(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'No such file or directory' : err.code === 'EISDIR' ? 'Is a directory'
      : err.code === 'EACCES' ? 'Permission denied' : err.message;
    throw new CliError(`${path}: ${why}`);
  }
  try {
    return Image.load(src);
  } catch (e) {
    if (e instanceof ElfError) throw new CliError(`${path}: ${e.message}`);
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
