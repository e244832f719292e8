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

export function linuxTaskLayout(image: Image): TaskLayout {
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
