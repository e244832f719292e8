// Where the running task and its pid, comm, stack and state are, for each kernel ktrace boots: what
// trace lines (comm-pid), kretprobe instances and backtraces read from guest memory.
// - The miniature kernel: fixed offsets (fixtures/kernel/README.md "What the platform can read";
//   `current` is struct pcpu_hot.current_task at %gs:0).
// - Real Linux 6.1: `current` is the per-CPU variable current_task (%gs:current_task, an offset into the
//   per-CPU area), and struct task_struct's members are found in the kernel's own DWARF: the unit that
//   defines init_task (init/init_task.c), whose type is struct task_struct.
import type { Image } from '../elf/image.js';
import { Dwarf } from '../dwarf/index.js';
import { DW_AT, DW_TAG } from '../dwarf/constants.js';
import { imageLoader } from '../cli/dwarf.js';
import { isLinuxImage } from './linux/bundle.js';

export interface TaskLayout {
  /** Offset of the current task pointer from the %gs base. */
  current: number;
  pid: number;
  comm: number;
  commLen: number;
  /** task_struct.stack (the stack's lowest address). */
  stack: number;
  /** task_struct.__state (a 32-bit word). */
  state: number;
  /** TASK_DEAD in __state. */
  dead: number;
  /** thread_info.flags (TIF_NEED_RESCHED is bit 3): first in task_struct with THREAD_INFO_IN_TASK. */
  tiFlags: number;
  /** The preemption count: a member of the task (the miniature), or a per-CPU variable at this %gs offset (Linux's __preempt_count). */
  preemptCount: number;
  preemptPerCpu: boolean;
}

export const MINI_TASK_LAYOUT: TaskLayout = {
  current: 0, pid: 72, comm: 80, commLen: 16, stack: 32, state: 40, dead: 0x80, tiFlags: 0, preemptCount: 8, preemptPerCpu: false,
};

const cache = new WeakMap<Image, TaskLayout>();

export class TaskLayoutError extends Error {}

/** The image's layout (read once per image). */
export function taskLayout(image: Image): TaskLayout {
  let l = cache.get(image);
  if (!l) { l = isLinuxImage(image) ? linuxTaskLayout(image) : MINI_TASK_LAYOUT; cache.set(image, l); }
  return l;
}

function linuxTaskLayout(image: Image): TaskLayout {
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
