// Builds an image's debug-info index (src/cli/debug-index.ts) and exits: run detached by the first
// query on a large image, as `node index-build.js VMLINUX LOCKFILE`. It never prints; on any failure
// the index is simply not written (queries keep working without it) and the lock is released.
import { unlinkSync } from 'node:fs';
import { loadImage } from './image.js';
import { buildIndex } from './dwarf.js';

const [path, lock] = process.argv.slice(2);
try {
  if (path) buildIndex(loadImage(path), path);
} catch {
  // No index this time; the next query on the image tries again.
} finally {
  if (lock) try { unlinkSync(lock); } catch { /* already gone */ }
}
