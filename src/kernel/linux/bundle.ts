// The bundled real Linux kernel (fixtures/linux, built by fixtures/linux/build.sh): its vmlinux is
// committed brotli-compressed (vmlinux.br) and expanded on first use into the cache
// ($XDG_CACHE_HOME/ktrace/kernel/), named by the SHA-256 that BUILD-INFO records for it, so a new
// build gets a new entry. The expansion is checked against that SHA-256 before it is renamed into
// place; later uses check only the name and size. With the cache off (KTRACE_NO_CACHE=1) or
// unwritable, it is expanded into a temporary file removed when the process exits.
import { createHash } from '../../base/crypto.js';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { cacheEnabled, cachePath, writeCacheFile } from '../../cache.js';
import { FIXTURES } from '../../paths.js';
import type { Image } from '../../elf/image.js';

export const LINUX_FIXTURE_DIR = join(FIXTURES, 'linux');

export interface LinuxBuildInfo {
  /** e.g. "linux-source-6.1 6.1.192-3" */
  package: string;
  /** `make kernelrelease`, e.g. "6.1.192" */
  release: string;
  sha256: string;
  size: number;
}

export class BundleError extends Error {}

export function linuxBuildInfo(dir = LINUX_FIXTURE_DIR): LinuxBuildInfo {
  let text: string;
  try {
    text = readFileSync(join(dir, 'BUILD-INFO'), 'utf8');
  } catch {
    throw new BundleError(`${join(dir, 'BUILD-INFO')}: No such file or directory (build it with fixtures/linux/build.sh)`);
  }
  const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(text)?.[1];
  const sum = /^vmlinux sha256: ([0-9a-f]{64}) \((\d+) bytes\)$/m.exec(text);
  const pkg = field('package'), release = field('kernel');
  if (!sum || !pkg || !release) throw new BundleError(`${join(dir, 'BUILD-INFO')}: malformed (no package, kernel or vmlinux sha256 line)`);
  return { package: pkg, release, sha256: sum[1]!, size: Number(sum[2]) };
}

let tempCopy: string | undefined;

/** The path of the bundled Linux vmlinux, expanding it first if needed. */
export function bundledLinuxPath(env: NodeJS.ProcessEnv = process.env, dir = LINUX_FIXTURE_DIR): string {
  const info = linuxBuildInfo(dir);
  const name = `linux-${info.release}-${info.sha256.slice(0, 16)}.vmlinux`;
  if (cacheEnabled(env)) {
    const path = cachePath('kernel', name, env);
    try {
      if (statSync(path).size === info.size) return path;
    } catch { /* not expanded yet */ }
    const elf = expand(info, dir);
    if (writeCacheFile('kernel', name, elf, env)) return path;
  }
  if (tempCopy) return tempCopy;
  const elf = expand(info, dir);
  const tmp = mkdtempSync(join(tmpdir(), 'ktrace-linux-'));
  process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
  writeFileSync(join(tmp, name), elf);
  return (tempCopy = join(tmp, name));
}

function expand(info: LinuxBuildInfo, dir: string): Buffer {
  const src = join(dir, 'vmlinux.br');
  let elf: Buffer;
  try {
    elf = brotliDecompressSync(readFileSync(src));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new BundleError(`${src}: ${err.code === 'ENOENT' ? 'No such file or directory' : `cannot be expanded (${err.message})`}`);
  }
  const sha = createHash('sha256').update(elf).digest('hex');
  if (elf.length !== info.size || sha !== info.sha256) {
    throw new BundleError(`${src}: expands to ${elf.length} bytes with sha256 ${sha.slice(0, 12)}, BUILD-INFO says ${info.size} bytes, ${info.sha256.slice(0, 12)}`);
  }
  return elf;
}

/** Whether an image is a real Linux kernel (64-bit boot protocol, a 4 KiB struct boot_params) rather
 *  than the miniature kernel of the ktrace-pc contract (fixtures/kernel/README.md). */
export function isLinuxImage(image: Image): boolean {
  return image.symbol('boot_params')?.size === 4096 && image.symbolAddr('startup_64') !== undefined;
}

/** The build identity fixtures/linux/build.sh stamps into `linux_banner` (KBUILD_BUILD_USER@HOST). */
export const BUNDLE_BUILDER = 'ktrace@ktrace';

/** The kernel's `linux_banner` ("Linux version 6.1.192 (user@host) (gcc ...) #1 SMP ..."), without
 *  its newline, or undefined when the image has none. */
export function linuxBanner(image: Image): string | undefined {
  const sym = image.symbol('linux_banner');
  if (!sym || sym.size <= 0 || sym.size > 4096) return undefined;
  const bytes = image.read(sym.addr, sym.size);
  if (!bytes) return undefined;
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString('latin1').trimEnd();
}

/**
 * Why an image cannot be booted (undefined: it can). The platform (src/kernel/linux) emulates what the
 * configuration of fixtures/linux/build.sh needs and no more, so a real Linux boots only when that
 * script built it: its banner names the script's builder. A distribution kernel (Debian's cloud
 * kernel, say) is refused in one line before anything runs; its static commands still work.
 */
export function bootRefusal(image: Image): string | undefined {
  if (!isLinuxImage(image)) return undefined;
  const banner = linuxBanner(image);
  if (banner && banner.includes(`(${BUNDLE_BUILDER})`)) return undefined;
  const id = banner && /^Linux version (\S+ \([^)]*\))/.exec(banner)?.[1];
  return `this is ${id ? `Linux ${id}` : 'a Linux image without a readable linux_banner'}, not a kernel built by fixtures/linux/build.sh: ktrace's platform boots only that configuration ` +
    '(use -k linux for the bundled Linux 6.1); the static commands funcs, vars, line, disasm, add, why and fs cat work on this image';
}
