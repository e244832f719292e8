// The ktrace package's public entry (`import { ... } from 'ktrace'`): a deliberate, documented surface
// (README.md "The library"). Everything else under src/ is internal and may change.
export { openKernel, Kernel, KernelSession, InitError, type KernelOptions, type RunOptions, type RunReport } from './lib/index.js';
export {
  KprobesApi, HandlerBudgetExceeded,
  type kprobe, type kretprobe, type kretprobe_instance, type pt_regs, type KprobesApiOptions, type HandlerError, type HandlerErrorPolicy,
} from './kprobe/api.js';
export { KPROBE_FLAG_GONE, KPROBE_FLAG_DISABLED, KPROBE_FLAG_OPTIMIZED, KPROBE_FLAG_FTRACE } from './kprobe/kprobes.js';
export { hex16 as px } from './base/addr.js';
export { regsGetKernelArgument as regs_get_kernel_argument, regsReturnValue as regs_return_value, PtRegs } from './kprobe/regs.js';
export { EINVAL, ENOENT, EBUSY, EILSEQ, EOPNOTSUPP, E2BIG, EFAULT } from './base/errno.js';
export { KRETPROBE_MAXACTIVE_MAX } from './kprobe/kretprobe.js';
export type { RunResult, SyscallSummary } from './kernel/session.js';
