// The common skeleton of the commands that read or change the state directory (add, del, enable,
// disable, list): the image opened, the tracing layer loaded, and the state read, or changed in one
// read-check-modify-write under its lock (state/store.ts updateState).
import type { GlobalArgs } from '../options.js';
import type { Image } from '../../elf/image.js';
import { loadImage } from '../image.js';
import { stateDir } from '../state/dir.js';
import { loadState, updateState, type StateFile } from '../state/store.js';
import { loadTracing, type Tracing } from '../tracing.js';

export interface StateAccess {
  image: Image;
  t: Tracing;
  dir: string;
  /** The stored state, read under the lock. */
  load(): StateFile;
  /** One change under the lock: `change` returns the new state (none: nothing written) and a result. `force`: on another image's state too. */
  update<R>(change: (s: StateFile) => { state?: StateFile; result: R }, force?: boolean): R;
}

/** The image of `-k`, the tracing layer (`tracing`: loadTracing's options) and the state directory of `args`. */
export async function openState(args: GlobalArgs, tracing?: Parameters<typeof loadTracing>[0], image = loadImage(args.vmlinux)): Promise<StateAccess> {
  const t = await loadTracing(tracing && { ...tracing, image });
  const dir = stateDir(args.state);
  return {
    image, t, dir,
    load: () => loadState(dir, args.vmlinux),
    update: (change, force) => updateState(dir, args.vmlinux, change, force ? { force: true } : {}),
  };
}
