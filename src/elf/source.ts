// Where an image's bytes come from: a file read at offsets (a 600 MB vmlinux is never held whole), or
// bytes already in memory (tests, fuzzing, expanded bundled kernels). Reads are exact: a short read
// (the file shrank under us) is an ElfError, not silently short data.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ElfError } from './errors.js';

export interface ByteSource {
  /** Size in bytes (fixed when the source was opened). */
  readonly size: number;
  /** `length` bytes at `offset`: a view for in-memory sources, a fresh buffer for files. Throws ElfError past the end. */
  read(offset: number, length: number): Uint8Array;
  /** The whole content when it is in memory anyway (no copy), else undefined. */
  readonly whole?: Uint8Array;
  /** A label for messages and cache keys (the path for files). */
  readonly path?: string;
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    whole: bytes,
    read(offset, length) {
      if (!(offset >= 0 && length >= 0 && offset + length <= bytes.length)) throw outside(offset, length, bytes.length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

function outside(offset: number, length: number, size: number): ElfError {
  return new ElfError(`truncated or corrupt: read at file offset 0x${offset.toString(16)} (+0x${length.toString(16)}) is outside the file (size 0x${size.toString(16)})`, offset);
}

/** A file read with pread; the descriptor stays open for the life of the process (images are few). */
export class FileSource implements ByteSource {
  readonly size: number;
  private readonly fd: number;
  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    try {
      const st = fstatSync(this.fd);
      if (st.isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
      this.size = st.size;
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
  }
  read(offset: number, length: number): Uint8Array {
    if (!(offset >= 0 && length >= 0 && offset + length <= this.size && Number.isSafeInteger(offset + length))) throw outside(offset, length, this.size);
    const b = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(this.fd, b, got, length - got, offset + got);
      if (n === 0) throw new ElfError(`${this.path}: truncated: the file ended at 0x${(offset + got).toString(16)} while reading 0x${length.toString(16)} bytes at 0x${offset.toString(16)} (was it replaced while ktrace read it?)`, offset + got);
      got += n;
    }
    return b;
  }
  /** Reads into a caller's buffer (streaming scans reuse one buffer). */
  readInto(buf: Uint8Array, offset: number, length: number): Uint8Array {
    if (!(offset >= 0 && length >= 0 && offset + length <= this.size)) throw outside(offset, length, this.size);
    let got = 0;
    while (got < length) {
      const n = readSync(this.fd, buf, got, length - got, offset + got);
      if (n === 0) throw new ElfError(`truncated: the file ended at 0x${(offset + got).toString(16)}`, offset + got);
      got += n;
    }
    return buf.subarray(0, length);
  }
  close(): void { try { closeSync(this.fd); } catch { /* already closed */ } }
}
