// Where the running task and its pid, comm, stack and state are, for each kernel ktrace boots: what
// trace lines (comm-pid), kretprobe instances and backtraces read from guest memory.
// - The miniature kernel: fixed offsets (fixtures/kernel/README.md "What the platform can read";
//   `current` is struct pcpu_hot.current_task at %gs:0).
// - Real Linux 6.1: `current` is the per-CPU variable current_task (%gs:current_task, an offset into the
//   per-CPU area), and struct task_struct's members are found in the kernel's own DWARF: the unit that
//   defines init_task (init/init_task.c), whose type is struct task_struct.
//   That reader is in linux/task-layout.ts, which whoever boots Linux imports (it registers itself): the
//   DWARF reader is not loaded for the miniature kernel (~25 ms of every run's start).
import type { Image } from '../elf/image.js';
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

let linuxReader: ((image: Image) => TaskLayout) | null = null;
/** linux/task-layout.ts gives the reader of Linux's layout (from its DWARF) when it is loaded. */
export function setLinuxTaskLayoutReader(read: (image: Image) => TaskLayout): void { linuxReader = read; }

/** The image's layout (read once per image). */
export function taskLayout(image: Image): TaskLayout {
  let l = cache.get(image);
  if (!l) {
    if (!isLinuxImage(image)) l = MINI_TASK_LAYOUT;
    else if (linuxReader === null) throw new TaskLayoutError('the Linux task layout reader is not loaded (import kernel/linux/task-layout.js)');
    else l = linuxReader(image);
    cache.set(image, l);
  }
  return l;
}
