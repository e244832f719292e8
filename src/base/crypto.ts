// node:crypto's createHash and randomBytes with the module loaded on first use: loading it (and
// OpenSSL's set-up on the first hash) costs a short process ~5 ms, which a warm static query should not
// pay for a hash it never computes (src/cache.ts checks its entries with zlib's CRC-32; a hash keys
// images without a build-id, names bundled kernels and the state's image, and a lock takes a nonce).
import { createRequire } from 'node:module';
import type { Hash } from 'node:crypto';

let crypto: typeof import('node:crypto') | undefined;
const load = (): typeof import('node:crypto') => (crypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto'));

/** node:crypto's createHash(algorithm). */
export function createHash(algorithm: string): Hash {
  return load().createHash(algorithm);
}

/** node:crypto's randomBytes(size). */
export function randomBytes(size: number): Buffer {
  return load().randomBytes(size);
}
