// Images the platform boots (`run`, `tui`): loadImage (load-image.ts) plus the boot checks.
import type { Image } from '../elf/image.js';
import { CliError } from './errors.js';
import { notBootable } from '../kernel/bootable.js';
import { loadImage, SYMBOL_INDEX_MIN } from './load-image.js';

export { loadImage };

/**
 * An image the platform can boot (for `run` and `tui`): a real Linux kernel is refused until its boot
 * path runs workloads; anything else with one line that says what it lacks (`ktrace: a.out: not a bootable ktrace kernel: it has no boot_params symbol, ...`).
 */
export function loadBootableImage(path: string, command: string): Image {
  return bootable(loadImage(path), path, command);
}

/** loadBootableImage for a command that boots (`run`, `tui`): a big image (real Linux) gets its persistent
 *  symbol index first (symbol-index.ts), so that its symbol lookups and kallsyms order decode no whole .symtab. */
export async function loadBootableIndexed(path: string, command: string): Promise<Image> {
  const image = loadImage(path);
  if (image.source.size >= SYMBOL_INDEX_MIN) await (await import('./symbol-index.js')).attachSymbolIndex(image, path);
  return bootable(image, path, command);
}

function bootable(image: Image, path: string, command: string): Image {
  const why = notBootable(image, path, command);
  if (why) throw new CliError(why);
  return image;
}
