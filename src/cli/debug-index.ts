// Starts the background build of a large image's indexes (src/cli/index-build.ts, in a detached process):
// the CLI's part of the debug-info index of src/debuginfo/index-cache.ts, given to openDwarf as its
// `background` option. One build at a time per image (a lock file in the cache).
import { closeSync, openSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { cacheEnabled, cachePath, writeCache } from '../cache.js';
import { entryOf, KIND } from '../debuginfo/index-cache.js';

/** How long a background build may hold its lock before another process may start one. */
const LOCK_STALE_MS = 10 * 60 * 1000;

/**
 * Starts `index-build` for the image in a detached process, unless one is running (a lock file) or the
 * cache is off or unwritable. KTRACE_INDEX_BACKGROUND=0 turns background builds off.
 */
export function buildInBackground(path: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!cacheEnabled(env) || env.KTRACE_INDEX_BACKGROUND === '0') return false;
  const e = entryOf(path);
  if (!e) return false;
  const lock = cachePath(KIND, `${e.name}.building`, env);
  try {
    const st = statSync(lock);
    if (Date.now() - st.mtimeMs < LOCK_STALE_MS) return false;
    unlinkSync(lock);
  } catch { /* no lock */ }
  try {
    // The cache folder must exist and be writable; otherwise there is no point in building.
    if (!writeCache(KIND, '.probe', 'probe', Buffer.alloc(0), env)) return false;
    // Another process's lock on the same entry (taken between our check and here): it builds.
    const fd = openSync(lock, 'wx');
    writeSync(fd, String(process.pid));
    closeSync(fd);
  } catch {
    return false;
  }
  try {
    const script = fileURLToPath(new URL('./index-build.js', import.meta.url));
    // node:child_process costs ~20 ms to load: only a query that starts a build loads it.
    const { spawn } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
    const child = spawn(process.execPath, [script, path, lock], { detached: true, stdio: 'ignore', env });
    child.on('error', () => { try { unlinkSync(lock); } catch { /* gone */ } });
    child.unref();
    return true;
  } catch {
    try { unlinkSync(lock); } catch { /* gone */ }
    return false;
  }
}
