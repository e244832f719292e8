// The machine side of a probe hit: a FetchContext over the live registers (PtRegs) and guest memory,
// the current task (comm, pid) read the way the kernel's `current` works on x86-64 (%gs base →
// struct pcpu_hot.current_task; fixtures/kernel/README.md "What the platform can read"), and the
// kallsyms symbolizer the trace text uses.
import { bytesText } from '../../base/text.js';
import type { Image } from '../../elf/image.js';
import type { Memory } from '../../emu/memory.js';
import type { PtRegs } from '../../kprobe/regs.js';
import type { FetchContext } from '../kprobe-events/eval.js';
import type { Symbolizer } from '../kprobe-events/format.js';
import type { RegName } from '../kprobe-events/regs.js';

import { MINI_TASK_LAYOUT, type TaskLayout } from '../../kernel/task-layout.js';

const PERM_U = 8;
const THREAD_SIZE = 16384;
const U64 = (1n << 64n) - 1n;

const toAddr = (a: bigint) => Number(BigInt.asIntN(64, a));

/** A guarded load: undefined when any byte is unmapped, or the access crosses into the wrong half. */
export function safeLoad(mem: Memory, addr: number, size: 1 | 2 | 4 | 8, user: boolean): bigint | undefined {
  // copy_from_kernel_nofault refuses user addresses, copy_from_user_nofault kernel ones
  // (mm/maccess.c, x86 copy_from_kernel_nofault_allowed).
  if (user ? addr < 0 : addr >= 0) return undefined;
  const p0 = permsHost(mem, addr), p1 = permsHost(mem, addr + size - 1);
  if (!p0 || !p1) return undefined;
  if (user && (!(p0 & PERM_U) || !(p1 & PERM_U))) return undefined;
  switch (size) {
    case 1: return BigInt(mem.read8(addr));
    case 2: return BigInt(mem.read16(addr));
    case 4: return BigInt(mem.read32(addr));
    case 8: return mem.read64(addr);
  }
}

/** A page's permissions, mapped first when the platform maps pages on demand (a guest page-table walk:
 *  real Linux); 0 when it is not mapped. */
function permsHost(mem: Memory, addr: number): number {
  const p = mem.permsAt(addr);
  if (p !== 0 || mem.onHostMiss === null) return p;
  return mem.onHostMiss(addr - (addr & 4095)) ? mem.permsAt(addr) : 0;
}

/** The task running on this CPU: pointer, pid, comm; undefined when %gs does not lead to one. */
export function currentTask(mem: Memory, gsBase: number, layout: TaskLayout = MINI_TASK_LAYOUT): { task: number; pid: number; comm: string } | undefined {
  if (gsBase >= 0) return undefined; // user-mode %gs: not the kernel's per-CPU area
  const t = safeLoad(mem, gsBase + layout.current, 8, false);
  if (t === undefined) return undefined;
  const task = toAddr(t);
  const pid = safeLoad(mem, task + layout.pid, 4, false);
  if (pid === undefined) return undefined;
  const bytes: number[] = [];
  for (let i = 0; i < layout.commLen - 1; i++) {
    const b = safeLoad(mem, task + layout.comm + i, 1, false);
    if (b === undefined || b === 0n) break;
    bytes.push(Number(b));
  }
  return { task, pid: Number(BigInt.asIntN(32, pid)), comm: bytesText(bytes) };
}

export function imageSymbolizer(image: Image): Symbolizer {
  return {
    withOffset: (a) => image.formatAddr(toAddr(a)),
    noOffset: (a) => image.lookupAddr(toAddr(a))?.entry.name,
  };
}

/** FetchContext for one hit. `regs` is live: build it per hit, use it inside the handler only. */
export function hitContext(regs: PtRegs, mem: Memory, sym: Symbolizer, layout: TaskLayout = MINI_TASK_LAYOUT): FetchContext {
  let task: ReturnType<typeof currentTask> | null = null;
  const cur = () => (task === null ? (task = currentTask(mem, regs.cpu.gsb, layout)) : task);
  const sp = regs.sp;
  const ctx: FetchContext = {
    reg(name: RegName): bigint {
      switch (name) {
        case 'ip': return regs.ipU;
        case 'sp': return regs.spU;
        case 'bp': return regs.bpU;
        case 'flags': return BigInt(regs.flags);
        case 'cs': return BigInt(regs.cs);
        case 'ss': return BigInt(regs.ss);
        // An int3 exception frame has no error code: the entry code stores -1 (idtentry, asm/idtentry.h).
        case 'orig_ax': return U64;
        default: return regs[name];
      }
    },
    mem: (addr, size, user) => safeLoad(mem, toAddr(addr), size, user),
    stack(n) {
      // regs_get_kernel_stack_nth (arch/x86/include/asm/ptrace.h): 0 unless the slot is in the same
      // THREAD_SIZE-aligned stack as regs->sp (regs_within_kernel_stack).
      const a = sp + n * 8;
      if (Math.floor(a / THREAD_SIZE) !== Math.floor(sp / THREAD_SIZE)) return 0n;
      return safeLoad(mem, a, 8, false) ?? 0n;
    },
    arg(n) {
      // regs_get_kernel_argument(n - 1): six registers, then the stack above the return address.
      switch (n) {
        case 1: return regs.di; case 2: return regs.si; case 3: return regs.dx;
        case 4: return regs.cx; case 5: return regs.r8; case 6: return regs.r9;
        default: return ctx.stack(n - 6);
      }
    },
    comm: () => cur()?.comm ?? '',
    symbolize: (a) => sym.withOffset(a),
  };
  return ctx;
}
