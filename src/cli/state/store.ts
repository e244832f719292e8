// The state directory's contents: the persistent part of the emulated tracefs (kprobe_events text,
// enable flags, the kprobes/enabled knob, kprobe_profile counters, the trace buffer, error_log) and
// the vmlinux it belongs to. One JSON file, replaced atomically (write a temporary file, fsync,
// rename over the old one: a reader or a killed writer sees the old file or the new one, never a
// torn one), read-modify-written under the directory's lock.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../errors.js';
import { imageKey } from '../../cache.js';
import { createHash } from '../../base/crypto.js';
import { emptyTraceState, type TraceState } from '../../trace/runtime/state.js';
import { withLock, LockError, LOCK_TEMP, alive, errnoText } from './lock.js';

export const STATE_FILE = 'state.json';
export const STATE_VERSION = 1;

/** Which kernel image the events were defined against. */
export interface VmlinuxId { path: string; size: number; mtimeMs: number; sha256: string }

export interface StateFile extends TraceState {
  version: number;
  vmlinux?: VmlinuxId;
}

/** The image's identity; the sha256 is computed only when size or mtime differ from `known`. */
const WHOLE_HASH_LIMIT = 64 << 20;

export function vmlinuxId(path: string, known?: VmlinuxId): VmlinuxId {
  const st = statSync(path);
  if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) return { ...known, path };
  // Images up to 64 MiB are identified by the SHA-256 of their content; a larger one (a distribution
  // vmlinux is 600 MB) by src/cache.ts's imageKey (its GNU build-id), so no command reads it whole.
  const sha256 = st.size <= WHOLE_HASH_LIMIT ? createHash('sha256').update(readFileSync(path)).digest('hex') : imageKey(path);
  return { path, size: st.size, mtimeMs: st.mtimeMs, sha256 };
}

/** How to get going again when the state file cannot be used (it is never overwritten then). */
function recovery(file: string): string {
  return `it is left as it is: fix it, or move it away (mv ${file} ${file}.bad) to start with no events`;
}

/** The most CPUs a run may have (run --cpus): the trace header's #P comes from the state. */
const MAX_CPUS = 8;

type Check = (v: unknown) => string | undefined;
const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object'
  : typeof v === 'string' ? `the string ${JSON.stringify(v.length > 24 ? v.slice(0, 24) + '...' : v)}` : `${typeof v} ${String(v)}`);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str: Check = (v) => (typeof v === 'string' ? undefined : 'a string');
const bool: Check = (v) => (typeof v === 'boolean' ? undefined : 'true or false');
const count: Check = (v) => (Number.isSafeInteger(v) && (v as number) >= 0 ? undefined : 'an integer >= 0');
const decimal: Check = (v) => (typeof v === 'string' && /^[0-9]{1,30}$/.test(v) ? undefined : 'a decimal string of nanoseconds');

/**
 * Checks a parsed state file field by field. Returns the state with absent fields defaulted (older
 * files), or the first bad field as `name: what it is, expected what` for a one-line error.
 */
export function validateState(raw: unknown): { ok: true; state: StateFile } | { ok: false; field: string; problem: string } {
  const bad = (field: string, v: unknown, expected: string) => ({ ok: false as const, field, problem: `is ${typeName(v)}, expected ${expected}` });
  if (!isObject(raw)) return bad('(top level)', raw, 'an object');
  const base = emptyTraceState() as unknown as Record<string, unknown>;
  const s: Record<string, unknown> = { ...base, ...raw };
  const fields: [string, Check][] = [
    ['kprobeEvents', str], ['kprobesEnabled', bool], ['trace', str], ['traceEntries', count], ['traceWritten', count],
    ['clockNs', decimal], ['cpus', (v) => (Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_CPUS ? undefined : `an integer from 0 to ${MAX_CPUS}`)],
  ];
  for (const [f, check] of fields) { const e = check(s[f]); if (e) return bad(f, s[f], e); }
  if (s.kprobesOptimization !== undefined && typeof s.kprobesOptimization !== 'boolean') return bad('kprobesOptimization', s.kprobesOptimization, 'true or false');
  if (!Array.isArray(s.enabled)) return bad('enabled', s.enabled, 'an array of "GROUP/EVENT" strings');
  for (const [i, v] of s.enabled.entries()) if (typeof v !== 'string' || !v.includes('/')) return bad(`enabled[${i}]`, v, 'a "GROUP/EVENT" string');
  if (s.wasEnabled !== undefined) {
    if (!Array.isArray(s.wasEnabled)) return bad('wasEnabled', s.wasEnabled, 'an array of "GROUP/EVENT" strings');
    for (const [i, v] of s.wasEnabled.entries()) if (typeof v !== 'string' || !v.includes('/')) return bad(`wasEnabled[${i}]`, v, 'a "GROUP/EVENT" string');
  }
  if (!isObject(s.profile)) return bad('profile', s.profile, 'an object of [hits, misses] pairs');
  for (const [k, v] of Object.entries(s.profile)) {
    if (!Array.isArray(v) || v.length !== 2 || count(v[0]) || count(v[1])) return bad(`profile[${JSON.stringify(k)}]`, v, 'a [hits, misses] pair of integers >= 0');
  }
  if (!isObject(s.ids)) return bad('ids', s.ids, 'an object of event ids');
  for (const [k, v] of Object.entries(s.ids)) if (!Number.isSafeInteger(v) || (v as number) <= 0) return bad(`ids[${JSON.stringify(k)}]`, v, 'an integer > 0');
  if (!Array.isArray(s.errorLog)) return bad('errorLog', s.errorLog, 'an array of error_log entries');
  for (const [i, e] of s.errorLog.entries()) {
    if (!isObject(e)) return bad(`errorLog[${i}]`, e, 'an error_log entry object');
    for (const f of ['code', 'subsystem', 'message', 'command']) if (typeof e[f] !== 'string') return bad(`errorLog[${i}].${f}`, e[f], 'a string');
    if (count(e.pos)) return bad(`errorLog[${i}].pos`, e.pos, 'an integer >= 0');
    if (decimal(e.tsNs)) return bad(`errorLog[${i}].tsNs`, e.tsNs, 'a decimal string of nanoseconds');
  }
  for (const f of ['tracingOn', 'symOffset']) if (s[f] !== undefined && typeof s[f] !== 'boolean') return bad(f, s[f], 'true or false');
  if (s.nextGen !== undefined && (count(s.nextGen) || (s.nextGen as number) < 1)) return bad('nextGen', s.nextGen, 'an integer > 0');
  if (s.gens !== undefined) {
    if (!isObject(s.gens)) return bad('gens', s.gens, 'an object of event generations');
    for (const [k, v] of Object.entries(s.gens)) if (!Number.isSafeInteger(v) || (v as number) <= 0) return bad(`gens[${JSON.stringify(k)}]`, v, 'an integer > 0');
  }
  if (s.filters !== undefined) {
    if (!isObject(s.filters)) return bad('filters', s.filters, 'an object of event filters');
    for (const [k, v] of Object.entries(s.filters)) {
      if (!isObject(v) || typeof v.text !== 'string' || typeof v.active !== 'boolean') return bad(`filters[${JSON.stringify(k)}]`, v, 'a {text, active} object');
    }
  }
  if (s.triggers !== undefined) {
    if (!isObject(s.triggers)) return bad('triggers', s.triggers, 'an object of event triggers');
    for (const [k, list] of Object.entries(s.triggers)) {
      if (!Array.isArray(list)) return bad(`triggers[${JSON.stringify(k)}]`, list, 'an array of triggers');
      for (const [i, t] of list.entries()) {
        const where = `triggers[${JSON.stringify(k)}][${i}]`;
        if (!isObject(t) || !['traceon', 'traceoff', 'stacktrace', 'hist'].includes(t.cmd as string)) return bad(where, t, 'a trigger object (cmd traceon, traceoff, stacktrace or hist)');
        if (!Number.isSafeInteger(t.count) || (t.count as number) < -1) return bad(`${where}.count`, t.count, 'an integer >= -1');
        for (const f of ['filter', 'spec']) if (t[f] !== undefined && typeof t[f] !== 'string') return bad(`${where}.${f}`, t[f], 'a string');
        if (t.cmd === 'hist' && typeof t.spec !== 'string') return bad(`${where}.spec`, t.spec, 'a string');
        const h = t.hist;
        if (h !== undefined && (!isObject(h) || count(h.hits) || count(h.drops) || !Array.isArray(h.entries)
          || !h.entries.every((e) => isObject(e) && Array.isArray(e.key) && e.key.every((x) => typeof x === 'string')
            && Array.isArray(e.sums) && e.sums.every((x) => typeof x === 'string' && /^[0-9]{1,20}$/.test(x))))) return bad(`${where}.hist`, h, 'hist data {hits, drops, entries}');
      }
    }
  }
  if (s.vmlinux !== undefined) {
    const v = s.vmlinux;
    if (!isObject(v)) return bad('vmlinux', v, 'an object');
    if (typeof v.path !== 'string') return bad('vmlinux.path', v.path, 'a string');
    if (count(v.size)) return bad('vmlinux.size', v.size, 'an integer >= 0');
    if (typeof v.mtimeMs !== 'number' || !Number.isFinite(v.mtimeMs)) return bad('vmlinux.mtimeMs', v.mtimeMs, 'a number');
    if (typeof v.sha256 !== 'string' || !/^([0-9a-f]{64}|bid-[0-9a-f]+|sha-[0-9a-f]{40})$/.test(v.sha256)) return bad('vmlinux.sha256', v.sha256, 'a sha256 in hex');
  }
  return { ok: true, state: s as unknown as StateFile };
}

export function readState(dir: string): StateFile {
  const file = join(dir, STATE_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: STATE_VERSION, ...emptyTraceState() };
    throw new CliError(`state ${file} cannot be read (${errnoText(e)})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CliError(`state ${file} is not valid JSON; ${recovery(file)}`);
  }
  if (isObject(raw) && raw.version !== STATE_VERSION) {
    throw new CliError(`state ${file} has version ${typeName(raw.version)}, expected ${STATE_VERSION} (written by another ktrace?); ${recovery(file)}`);
  }
  const v = validateState(raw);
  if (!v.ok) throw new CliError(`state ${file}: field ${v.field} ${v.problem}; ${recovery(file)}`);
  return v.state;
}

/** Atomic replace: temp file in the same directory, fsync, rename. */
export function writeState(dir: string, s: StateFile): void {
  const tmp = join(dir, `.${STATE_FILE}.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, JSON.stringify(s) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, STATE_FILE));
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* ignore */ }
    throw new CliError(`state directory ${dir}: cannot write ${STATE_FILE} (${errnoText(e)}); the previous state is unchanged`);
  }
}

/** Temporary files a killed writer left (called under the lock, when no other writer can be mid-write). */
function removeLeftovers(dir: string): void {
  let names: string[];
  try { names = readdirSync(dir); } catch { return; }
  for (const n of names) {
    const lock = LOCK_TEMP.exec(n);
    const leftover = n.startsWith(`.${STATE_FILE}.`) && n.endsWith('.tmp') && n !== `.${STATE_FILE}.${process.pid}.tmp`;
    // A lock taker's temporary file is in use until its process ends.
    if (leftover || (lock && !alive(Number(lock[1])))) { try { unlinkSync(join(dir, n)); } catch { /* gone */ } }
  }
}

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'EEXIST' ? 'a file of that name exists' : errnoText(e);
    throw new CliError(`cannot create state directory ${dir} (${why}); use --state DIR or KTRACE_STATE for another one`);
  }
}

/**
 * Refuses state made for another vmlinux (events name its symbols and addresses). Empty state
 * (no events) adopts the new image silently.
 */
export function checkVmlinux(dir: string, s: StateFile, vmlinux: string): VmlinuxId {
  let id: VmlinuxId;
  try {
    id = vmlinuxId(vmlinux, s.vmlinux);
  } catch (e) {
    throw new CliError(`${vmlinux}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (e as Error).message}`);
  }
  if (s.vmlinux && s.vmlinux.sha256 !== id.sha256 && s.kprobeEvents !== '') {
    const other = s.vmlinux.path === id.path ? `an earlier build of ${id.path}` : s.vmlinux.path;
    throw new CliError(`the events in state ${dir} were defined on another vmlinux (${other}, sha256 ${s.vmlinux.sha256.slice(0, 12)}),`
      + ` not on ${vmlinux} (sha256 ${id.sha256.slice(0, 12)}). Move them onto it with \`ktrace add --rebase\`, remove them with \`ktrace del -a\`, or use another --state DIR.`);
  }
  return id;
}

/** Read the state for `vmlinux` without locking (readers see a whole file thanks to rename). */
export function loadState(dir: string, vmlinux: string): StateFile {
  const s = readState(dir);
  checkVmlinux(dir, s, vmlinux);
  return s;
}

/**
 * Read-modify-write under the lock. `fn` returns the new state (or undefined to leave it alone) and
 * a result passed back. `force` skips the vmlinux check (`del -a` on another kernel's state).
 */
export function updateState<T>(dir: string, vmlinux: string, fn: (s: StateFile) => { state?: StateFile; result: T },
  opts: { force?: boolean } = {}): T {
  ensureDir(dir);
  try {
    return withLock(dir, () => {
      removeLeftovers(dir);
      const s = readState(dir);
      const id = opts.force ? vmlinuxId(vmlinux) : checkVmlinux(dir, s, vmlinux);
      const r = fn(s);
      if (r.state) writeState(dir, { ...r.state, version: STATE_VERSION, vmlinux: id });
      return r.result;
    });
  } catch (e) {
    if (e instanceof LockError) throw new CliError(e.message);
    throw e;
  }
}
