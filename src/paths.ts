// Where ktrace's own files live (the bundled fixture kernel, workloads), wherever dist/ is built.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if (JSON.parse(readFileSync(pkg, 'utf8')).name === 'ktrace') return dir;
      } catch { /* keep walking */ }
    }
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** The ktrace package root (holds package.json, fixtures/, dist*). */
export const ROOT = findRoot();
/** The bundled fixture kernel: the default for -k/--vmlinux. */
export const DEFAULT_VMLINUX = join(ROOT, 'fixtures', 'vmlinux');
export const FIXTURES = join(ROOT, 'fixtures');
