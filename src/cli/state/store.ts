// The state directory's contents: the persistent part of the emulated tracefs (kprobe_events text,
// enable flags, the kprobes/enabled knob, kprobe_profile counters, the trace buffer, error_log) and
// the vmlinux it belongs to. One JSON file, replaced atomically (write a temporary file, fsync,
// rename over the old one: a reader or a killed writer sees the old file or the new one, never a
// torn one), read-modify-written under the directory's lock.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { CliError } from '../errors.js';
import { emptyTraceState, type TraceState } from '../../trace/runtime/state.js';
import { withLock, LockTimeout } from './lock.js';

export const STATE_FILE = 'state.json';
export const STATE_VERSION = 1;

/** Which kernel image the events were defined against. */
export interface VmlinuxId { path: string; size: number; mtimeMs: number; sha256: string }

export interface StateFile extends TraceState {
  version: number;
  vmlinux?: VmlinuxId;
}

/** The image's identity; the sha256 is computed only when size or mtime differ from `known`. */
export function vmlinuxId(path: string, known?: VmlinuxId): VmlinuxId {
  const st = statSync(path);
  if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) return { ...known, path };
  const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
  return { path, size: st.size, mtimeMs: st.mtimeMs, sha256 };
}

export function readState(dir: string): StateFile {
  let text: string;
  try {
    text = readFileSync(join(dir, STATE_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: STATE_VERSION, ...emptyTraceState() };
    throw new CliError(`state ${join(dir, STATE_FILE)}: ${(e as Error).message}`);
  }
  let s: StateFile;
  try {
    s = JSON.parse(text) as StateFile;
  } catch {
    throw new CliError(`state ${join(dir, STATE_FILE)} is not valid JSON (delete it or use another --state)`);
  }
  if (s.version !== STATE_VERSION) throw new CliError(`state ${join(dir, STATE_FILE)} has version ${s.version}, expected ${STATE_VERSION}`);
  return { ...emptyTraceState(), ...s };
}

/** Atomic replace: temp file in the same directory, fsync, rename. */
export function writeState(dir: string, s: StateFile): void {
  const tmp = join(dir, `.${STATE_FILE}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, JSON.stringify(s) + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, join(dir, STATE_FILE));
  } catch (e) {
    try { unlinkSync(tmp); } catch { /* ignore */ }
    throw e;
  }
}

function ensureDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new CliError(`state directory ${dir}: ${(e as Error).message}`);
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
      + ` not on ${vmlinux} (sha256 ${id.sha256.slice(0, 12)}). Remove them with \`ktrace del -a\`, or use another --state DIR.`);
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
      const s = readState(dir);
      const id = opts.force ? vmlinuxId(vmlinux) : checkVmlinux(dir, s, vmlinux);
      const r = fn(s);
      if (r.state) writeState(dir, { ...r.state, version: STATE_VERSION, vmlinux: id });
      return r.result;
    });
  } catch (e) {
    if (e instanceof LockTimeout) throw new CliError(e.message);
    throw e;
  }
}
