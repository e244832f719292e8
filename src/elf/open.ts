// Opening a vmlinux file: its headers are read, sections when first needed. A file that cannot be
// opened or is not a usable ELF image is an ElfError naming the file (`<file>: <message>`), one line,
// which the CLI prints as `ktrace: <file>: <message>`.
import { Image } from './image.js';
import { ElfError } from './errors.js';
import { FileSource } from './source.js';

export function openImage(path: string): Image {
  let src: FileSource;
  try {
    src = new FileSource(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'No such file or directory' : err.code === 'EISDIR' ? 'Is a directory'
      : err.code === 'EACCES' ? 'Permission denied' : err.message;
    throw new ElfError(`${path}: ${why}`);
  }
  try {
    return Image.load(src);
  } catch (e) {
    if (e instanceof ElfError) throw new ElfError(`${path}: ${e.message}`, e.offset, { cause: e });
    throw e;
  }
}
