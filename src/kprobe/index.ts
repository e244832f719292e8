// src/kprobe public API (docs/ARCHITECTURE.md, "From a spec to a trace line", steps 5 and 6). Typical use, before a run starts:
//   runScript(image, script, { ..., attach: (pl) => { const mgr = KprobeManager.attach(pl); mgr.registerKprobe({ symbolName: "vfs_read", preHandler: (p, regs) => 0 }); } })
// Results are 0 or a negative errno as in the kernel (mgr.lastError / mgr.register(p) give the reason);
// debugfs text comes from renderKprobeList / renderKprobeBlacklist / renderKprobesEnabled / writeKprobesEnabled.
// Return probes: const krp = KretprobeManager.attach(pl, mgr); krp.registerKretprobe({ kp: { symbolName: "vfs_read" },
//   entryHandler: (ri, regs) => 0, handler: (ri, regs) => regsReturnValue(regs), dataSize: 8, maxactive: 0 });
//   list with renderKprobeList(mgr, krp.typeOf); traces in handlers with stackTraceSave / stackTraceSaveRegs.
// The same API in kprobes.rst's names and struct shapes (register_kprobe({ symbol_name, pre_handler }), ...)
// and nofault guest-memory readers: new KprobesApi(mgr, krp) (api.ts; the library's session extends it).
export {
  KprobeManager, ProbePoint, HandlerFault,
  KPROBE_FLAG_GONE, KPROBE_FLAG_DISABLED, KPROBE_FLAG_OPTIMIZED, KPROBE_FLAG_FTRACE,
  KPROBE_HIT_ACTIVE, KPROBE_HIT_SS, KPROBE_REENTER, KPROBE_HIT_SSDONE,
  type Kprobe, type KprobeResult, type KprobeOops, type KprobeManagerOptions,
} from './kprobes.js';
export { PtRegs, regsGetKernelArgument, regsReturnValue, X86_EFLAGS_IF, X86_EFLAGS_TF } from './regs.js';
export { InsnSlots, MODULES_VADDR, INSN_SLOT_SIZE } from './slots.js';
export { EmulateKind, type ArchInsn, canProbe, archPrepareKprobe } from './x86.js';
export {
  KPROBES_DEBUGFS, renderKprobeList, renderKprobeBlacklist, renderKprobesEnabled, writeKprobesEnabled, reportProbe,
  kstrtobool, kprobeHash, probePointsInListOrder,
} from './debugfs.js';
export { callFromHandler } from './guest-call.js';
export { instructionBoundaries, seededSample, type FunctionBoundaries } from './sweep.js';
export {
  KretprobeManager, KRETPROBE_MAXACTIVE_MAX, THREAD_SIZE, type Kretprobe, type KretprobeInstance,
} from './kretprobe.js';
export { stackTraceSave, stackTraceSaveRegs } from './stacktrace.js';
export {
  Optimizer, whyNotOptimized, renderOptimizationSysctl, writeOptimizationSysctl, OPTIMIZE_DELAY, PROC_KPROBES_OPTIMIZATION,
  type OptState, type OptRecord, type OptimizerOptions,
} from './optimizer.js';
export { canOptimize, analyzeFunction, buildDetour, RELATIVEJUMP_SIZE, type OptRegion, type OptRefusal, type OptCheck, type CanOptimize } from './detour.js';
export { FtraceProbes, MCOUNT_INSN_SIZE } from './ftrace.js';
export {
  KprobesApi, HandlerBudgetExceeded,
  type kprobe, type kretprobe, type kretprobe_instance, type pt_regs, type KprobesApiOptions, type HandlerError, type HandlerErrorPolicy,
} from './api.js';
export { KRETPROBE_TRAMPOLINE, KRETPROBE_TRAMPOLINE_SYMBOL, addTrampolineSymbol } from './trampoline.js';
