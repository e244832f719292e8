// The one place the CLI reads a vmlinux: file errors and ElfErrors become `ktrace: <file>: <message>`.
// The file is opened and its headers read; sections are read when a command first needs them.
import { Image } from '../elf/image.js';
import { ElfError } from '../elf/errors.js';
import { FileSource } from '../elf/source.js';
import { CliError } from './errors.js';
import { bootProblems } from '../kernel/bootable.js';
import { bootRefusal, isLinuxImage } from '../kernel/linux/bundle.js';

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

/**
 * An image the platform can boot (for `run` and `tui`): a real Linux kernel is refused until its boot
 * path runs workloads; anything else with one line that says what it lacks (`ktrace: a.out: not a bootable ktrace kernel: it has no boot_params symbol, ...`).
 */
export function loadBootableImage(path: string, command: string): Image {
  const image = loadImage(path);
  const refusal = bootRefusal(image);
  if (refusal) throw new CliError(`${command}: ${refusal}`);
  const problems = isLinuxImage(image) ? [] : bootProblems(image);
  if (problems.length) throw new CliError(`${path}: not a bootable ktrace kernel: ${problems.join('; ')}`);
  return image;
}
