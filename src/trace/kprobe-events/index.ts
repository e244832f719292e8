// kprobe_events: the language, its model, and the kernel text around it. See each file's header for
// the kernel source it follows. The kernel modelled is recent mainline (6.1x: symstr and char types,
// $argN on return probes via entry data, NON_UNIQ_SYMBOL, GRP.EVENT names, the 5-column latency
// flags) on x86-64 with CONFIG_HAVE_FUNCTION_ARG_ACCESS_API, without BTF arguments, booted with
// no_hash_pointers (addresses print raw).
export { argvSplit } from './argv.js';
export { ERRORS, probeLogErr, type ErrCode, type ProbeError } from './errors.js';
export type { FetchOp, ProbeArg, Bitfield } from './fetch.js';
export { parseProbeArgument, isGoodName, MAX_TRACE_ARGS, MAX_ARGSTR_LEN, MAX_ARRAY_LEN, MAX_ARG_NAME_LEN, PARAM_MAX_STACK, type ArgFlags } from './fetcharg.js';
export {
  parseKprobeCommand, probesOf, parseCreate, parseDelete, defaultEventName, sanitizeEventName, isGoodSystemName,
  KPROBE_EVENT_SYSTEM, KRETPROBE_MAXACTIVE_MAX, MAX_EVENT_NAME_LEN,
  type ProbeDef, type DeleteSpec, type KprobeCommand, type CommandResult, type CommandFailure,
} from './probe.js';
export { X86_64_REGS, isRegName, type RegName } from './regs.js';
export { imageResolver, type SymbolResolver, type ImageLike } from './resolver.js';
export { FETCH_TYPES, DEFAULT_TYPE, findFetchType, type FetchType, type TypeName } from './types.js';
export { showProbe, showKprobeEvents, showKprobeProfile, probePlace, profileLine, deleteMatches } from './show.js';
export { checkRegister, compareArgTypes, registrationError, applyDelete, releaseAll, type RegisterDecision } from './register.js';
export { ErrorLog, formatErrorLogEntry, TRACING_LOG_ERRS_MAX, type LoggedError } from './error-log.js';
export { fetchArg, fetchArgs, resolveProbeSymbols, MAX_STRING_SIZE, type FetchContext, type ArgValue, type ScalarValue } from './eval.js';
export {
  formatScalar, formatArgs, formatKprobeLine, formatKretprobeLine, traceContext, traceTime, latencyFlags, traceHeader,
  eventFormat, printFmt, FAULT_STRING, type Symbolizer, type TraceContext, type EntryFlags,
} from './format.js';
export { README } from './readme.js';
export { writeCommands, WRITE_BUFSIZE, type WriteStep } from './write.js';
export { KprobeEvents, type KprobeBackend, type KprobeEventsOptions } from './events.js';
