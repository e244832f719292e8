// The one place the CLI reads a vmlinux: file errors and ElfErrors become `ktrace: <file>: <message>`.
import { readFileSync } from 'node:fs';
import { Image } from '../elf/image.js';
import { ElfError } from '../elf/errors.js';
import { CliError } from './errors.js';

export function loadImage(path: string): Image {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'No such file or directory' : err.code === 'EISDIR' ? 'Is a directory'
      : err.code === 'EACCES' ? 'Permission denied' : err.message;
    throw new CliError(`${path}: ${why}`);
  }
  try {
    return Image.load(bytes);
  } catch (e) {
    if (e instanceof ElfError) throw new CliError(`${path}: ${e.message}`);
    throw e;
  }
}
