// perf-probe specs with debuginfo, compiled to kprobe_events lines (perf probe -D), and the variables
// available at a probe point (perf probe -V).
export { parseProbeSpec, parseProbeArg, formatProbePoint, isCVarName, type ProbeSpec, type ProbePoint, type ProbeArg, type Field, type Parsed } from './spec.js';
export { resolvePoint, symbolAt, scopeDepthFor, type ResolvedPoint, type PointOptions } from './point.js';
export { compilePerfProbe, compileArg, fetchableVars, scopeVars, planToFetchArg, staticBase, type StaticBase, DEFAULT_GROUP, type CompiledEvent, type CompileOptions, type FetchableVar } from './compile.js';
export { availableVars, formatAvailableVars, siteVars, type AvailableVars } from './vars.js';
export { functionRows, pathMatches, lazyMatch, reverseLine, isReversible, type FunctionRow } from './lines.js';
export { perfTypeName } from './typename.js';
export { findFunctions } from './find.js';
