// Builds an image's debug-info index (src/debuginfo/index-cache.ts) and a big image's symbol index (symbol-index.ts) and exits: run detached by the first
// query on a large image, as `node index-build.js VMLINUX LOCKFILE`. It never prints; on any failure
// the index is simply not written (queries keep working without it) and the lock is released.
import { unlinkSync } from 'node:fs';
import { loadImage } from './load-image.js';
import { buildFileIndex, buildIndex } from '../debuginfo/open.js';
import { buildSymbolOrders, saveFunctionNamesOf, saveSymbolIndex, SYMBOL_INDEX_MIN, useSymbolIndex } from './symbol-index.js';
import { BACKGROUND_LIMIT, loadFileIndex, loadIndex } from '../debuginfo/index-cache.js';

const [path, lock] = process.argv.slice(2);
try {
  if (path) {
    const img = loadImage(path);
    // The symbol orders (a big image's), then the debug-info index: each only when missing or stale.
    if (img.source.size >= SYMBOL_INDEX_MIN && !useSymbolIndex(img, path)) {
      const o = buildSymbolOrders(img);
      saveSymbolIndex(img, path, o);
      saveFunctionNamesOf(img, path, o);
    }
    const info = img.sectionByName('.debug_info');
    if (info && info.size > 0) {
      const idx = loadIndex(img, path, info.size) ?? buildIndex(img, path);
      // The file index of a big image (line tables of every unit: seconds), last.
      if (info.size > BACKGROUND_LIMIT && !loadFileIndex(img, path, idx.headers.length)) buildFileIndex(img, path, idx);
    }
  }
} catch {
  // No index this time; the next query on the image tries again.
} finally {
  if (lock) try { unlinkSync(lock); } catch { /* already gone */ }
}
