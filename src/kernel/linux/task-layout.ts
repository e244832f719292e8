// Where the running task is on real Linux 6.1 (kernel/task-layout.ts): `current` is the per-CPU variable
// current_task (%gs:current_task, an offset into the per-CPU area), and struct task_struct's members are
// found in the kernel's own DWARF: the unit that defines init_task (init/init_task.c), whose type is
// struct task_struct. Importing this module registers the reader: whoever boots real Linux imports it (the
// CLI's run and tui, the library, tests), so that a miniature kernel's run does not load the DWARF reader.
import type { Image } from '../../elf/image.js';
import { Dwarf } from '../../dwarf/index.js';
import { DW_AT, DW_TAG } from '../../dwarf/constants.js';
import { imageLoader } from '../../debuginfo/open.js';
import { setLinuxTaskLayoutReader, TaskLayoutError, type TaskLayout } from '../task-layout.js';
import { cacheEnabled, imageKey, readCache, writeCache } from '../../cache.js';
import { imageFingerprint, KIND } from '../../debuginfo/index-cache.js';

/** The layout's fields, in the order the cache entry keeps them. */
const FIELDS = ['current', 'pid', 'comm', 'commLen', 'stack', 'state', 'dead', 'tiFlags', 'preemptCount'] as const;
/** Bumped when what linuxTaskLayout reads changes: part of the entry's name and key. */
const LAYOUT_VERSION = 1;

/**
 * The layout of an image file, kept beside its debug-info index (cache kind 'index', keyed by the file's
 * cache key and the image's fingerprint: debuginfo/index-cache.ts): reading it from the DWARF walks the
 * whole init_task.c unit, ~40 ms of every Linux run's start. An entry that does not read back is
 * ignored and written again.
 */
export function linuxTaskLayout(image: Image): TaskLayout {
  const path = image.source.path;
  let entry: { name: string; key: string } | undefined;
  if (path !== undefined && cacheEnabled()) {
    try {
      const k = imageKey(path);
      entry = { name: `${k}.task-layout-${LAYOUT_VERSION}`, key: `${k};${imageFingerprint(image).toString('hex')};${LAYOUT_VERSION}` };
    } catch { entry = undefined; }
  }
  if (entry !== undefined) {
    const hit = readCache(KIND, entry.name, entry.key);
    if (hit !== null) {
      try {
        const v = JSON.parse(hit.toString('utf8')) as unknown;
        if (Array.isArray(v) && v.length === FIELDS.length && v.every((x) => Number.isSafeInteger(x))) {
          const l = Object.fromEntries(FIELDS.map((f, i) => [f, v[i] as number])) as Omit<TaskLayout, 'preemptPerCpu'>;
          return { ...l, preemptPerCpu: true };
        }
      } catch { /* read it again below */ }
    }
  }
  const l = readTaskLayout(image);
  if (entry !== undefined) writeCache(KIND, entry.name, entry.key, Buffer.from(JSON.stringify(FIELDS.map((f) => l[f]))));
  return l;
}

function readTaskLayout(image: Image): TaskLayout {
  const current = image.symbolAddr('current_task');
  if (current === undefined) throw new TaskLayoutError('no current_task symbol: not a Linux x86-64 kernel ktrace knows');
  const d = new Dwarf(imageLoader(image));
  const unit = d.units().find((u) => { const r = u.root(); return r !== undefined && d.name(r) === 'init/init_task.c'; });
  if (!unit) throw new TaskLayoutError('no DWARF unit for init/init_task.c (a kernel built without CONFIG_DEBUG_INFO?)');
  const dies = unit.dies();
  const v = dies.find((x) => x.tag === DW_TAG.variable && x.depth === 1 && d.name(x) === 'init_task');
  let t = v && d.ref(v, DW_AT.type);
  while (t && t.tag !== DW_TAG.structure_type) t = d.ref(t, DW_AT.type);
  if (!t) throw new TaskLayoutError('init_task has no struct type in the DWARF');
  const off = new Map<string, number>();
  const size = new Map<string, number>();
  for (const c of d.children(t)) {
    if (c.tag !== DW_TAG.member) continue;
    const n = d.name(c);
    if (n === undefined) continue;
    off.set(n, d.memberOffset(c) ?? -1);
    const ty = d.ref(c, DW_AT.type);
    if (n === 'comm' && ty) {
      const sub = d.children(ty).find((s) => s.tag === DW_TAG.subrange_type);
      const count = sub && (d.udata(sub, DW_AT.count) ?? ((d.udata(sub, DW_AT.upper_bound) ?? -1) + 1));
      if (count) size.set(n, count);
    }
  }
  const need = (n: string) => {
    const o = off.get(n);
    if (o === undefined || o < 0) throw new TaskLayoutError(`struct task_struct has no member ${n} in the DWARF`);
    return o;
  };
  return {
    current, pid: need('pid'), comm: need('comm'), commLen: size.get('comm') ?? 16, stack: need('stack'), state: need('__state'),
    dead: 0x80, // TASK_DEAD, include/linux/sched.h
    tiFlags: off.get('thread_info') ?? 0, // struct thread_info (first, THREAD_INFO_IN_TASK) begins with flags
    preemptCount: image.symbolAddr('__preempt_count') ?? -1, preemptPerCpu: true,
  };
}

setLinuxTaskLayoutReader(linuxTaskLayout);
