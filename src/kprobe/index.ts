// src/kprobe public API (ARCHITECTURE.md "Kprobes").
export {
  KprobeManager, ProbePoint, HandlerFault, px,
  KPROBE_FLAG_GONE, KPROBE_FLAG_DISABLED, KPROBE_FLAG_OPTIMIZED, KPROBE_FLAG_FTRACE,
  KPROBE_HIT_ACTIVE, KPROBE_HIT_SS, KPROBE_REENTER, KPROBE_HIT_SSDONE,
  type Kprobe, type KprobeResult, type KprobeOops, type KprobeManagerOptions,
} from './kprobes.js';
export { PtRegs, regsGetKernelArgument, regsReturnValue, X86_EFLAGS_IF, X86_EFLAGS_TF } from './regs.js';
export { InsnSlots, MODULES_VADDR, INSN_SLOT_SIZE } from './slots.js';
export { EmulateKind, type ArchInsn, canProbe, archPrepareKprobe, condition, EINVAL, ENOENT, EBUSY, EILSEQ, EOPNOTSUPP } from './x86.js';
export {
  KPROBES_DEBUGFS, renderKprobeList, renderKprobeBlacklist, renderKprobesEnabled, writeKprobesEnabled, reportProbe,
  kstrtobool, kprobeHash, probePointsInListOrder,
} from './debugfs.js';
export { callFromHandler } from './guest-call.js';
export { instructionBoundaries, seededSample, type FunctionBoundaries } from './sweep.js';
