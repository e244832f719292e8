// `ktrace run --handlers FILE.mjs`: a user module of probes and handlers, loaded like a kernel module
// (README.md "Handler scripts"). Its exports:
//   export const kprobes = [{ symbol_name: 'vfs_read', pre_handler(p, regs, k) { ... } }, ...]
//   export const kretprobes = [{ kp: { symbol_name: 'vfs_read' }, entry_handler(ri, regs, k), handler(ri, regs, k), data_size: 8 }]
//   export function init(k) { ... }   // module_init: before the workload; a negative errno fails the run
//   export function exit(k) { ... }   // module_exit: after the kernel stopped
// where k is the library's KernelSession (src/lib/kernel.ts): the kprobes API, readKernel and the other
// nofault readers, trace_printk (a line in the trace, streamed with the events), printk, ktime_get.
//
// A handler never corrupts the run: it runs under the 'contain' policy (an exception, including a
// fault no fault_handler took, counts in its probe's nmissed and is reported once per probe with its
// count), with a deterministic bound of HANDLER_READ_BUDGET guest-memory reads per call, and a host-time
// watchdog of HANDLER_TIMEOUT_MS per call for a loop that touches nothing of the kernel.
import { createContext, Script } from 'node:vm';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { CliError } from './errors.js';
import type { MachineSession } from './tracing.js';
import { KernelSession } from '../lib/kernel.js';
import type { kprobe, kretprobe } from '../kprobe/api.js';

export const HANDLER_READ_BUDGET = 100_000;
/** Far above what HANDLER_READ_BUDGET reads take even on a loaded machine (about 1 s at load 20 on 2
 *  cores), so that a reading loop always ends on the deterministic budget, never on the host clock. */
export const HANDLER_TIMEOUT_MS = 5000;

export interface HandlerModule {
  kprobes?: kprobe[];
  kretprobes?: kretprobe[];
  init?: (k: KernelSession) => number | void;
  exit?: (k: KernelSession) => void;
}

export interface LoadedHandlers {
  file: string;
  mod: HandlerModule;
  /** The run's attach step: after the trace events' own, registers the module's probes. */
  attach(ms: MachineSession, onTrace: (cpu: number, ts: bigint, line: string) => void): void;
  /** After the run: module_exit, then the report lines (one per probe with errors, nmissed). */
  finish(): { log: string[]; errors: string[] };
}

/** The watchdog: a call into user code that runs past `ms` of host time is stopped (vm's timeout). */
function watchdog(ms: number): <T>(fn: () => T) => T {
  const ctx = createContext({ fn: null as unknown });
  const script = new Script('fn()');
  return <T>(fn: () => T): T => {
    (ctx as { fn: unknown }).fn = fn;
    try {
      return script.runInContext(ctx, { timeout: ms }) as T;
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new Error(`ran longer than ${ms} ms of host time`);
      throw e;
    } finally { (ctx as { fn: unknown }).fn = null; }
  };
}

export async function loadHandlers(path: string): Promise<LoadedHandlers> {
  const file = isAbsolute(path) ? path : resolve(path);
  if (!existsSync(file)) throw new CliError(`run: --handlers ${path}: No such file or directory`);
  let mod: HandlerModule;
  try {
    mod = await import(pathToFileURL(file).href) as HandlerModule;
  } catch (e) {
    throw new CliError(`run: --handlers ${path}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  }
  const kps = mod.kprobes ?? [], rps = mod.kretprobes ?? [];
  if (!Array.isArray(kps) || !Array.isArray(rps)) throw new CliError(`run: --handlers ${path}: 'kprobes' and 'kretprobes' must be arrays`);
  if (!kps.length && !rps.length && typeof mod.init !== 'function') {
    throw new CliError(`run: --handlers ${path}: the module exports no kprobes, kretprobes or init`);
  }
  let ks: KernelSession | undefined;
  return {
    file, mod,
    attach(ms, onTrace) {
      const k = ks = new KernelSession(ms.platform, ms.mgr, ms.krm, ms.optimizer, ms.runtime, ms.session,
        { onHandlerError: 'contain', readBudget: HANDLER_READ_BUDGET, invoke: watchdog(HANDLER_TIMEOUT_MS) });
      k.onTrace = onTrace;
      // the declared handlers get the session as a third argument
      const withK = <F extends (...a: never[]) => unknown>(f: F | undefined) => f && ((...a: unknown[]) => (f as unknown as (...x: unknown[]) => unknown)(...a, k));
      // return probes first: a kprobe on the same function then runs before their entry handlers (an
      // aggregate runs its newest probe first) and sees the real return address on the stack
      for (const rp of rps) {
        rp.handler = withK(rp.handler) as kretprobe['handler'];
        rp.entry_handler = withK(rp.entry_handler) as kretprobe['entry_handler'];
        const rc = k.register_kretprobe(rp);
        if (rc < 0) throw new CliError(`run: --handlers ${path}: register_kretprobe(${name(rp.kp)}) failed, returned ${rc}: ${k.lastError}`);
      }
      for (const p of kps) {
        p.pre_handler = withK(p.pre_handler) as kprobe['pre_handler'];
        p.post_handler = withK(p.post_handler) as kprobe['post_handler'];
        p.fault_handler = withK(p.fault_handler) as kprobe['fault_handler'];
        const rc = k.register_kprobe(p);
        if (rc < 0) throw new CliError(`run: --handlers ${path}: register_kprobe(${name(p)}) failed, returned ${rc}: ${k.lastError}`);
      }
      if (typeof mod.init === 'function') {
        let rc: number | void;
        try { rc = mod.init(k); } catch (e) { throw new CliError(`run: --handlers ${path}: init: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`); }
        if (typeof rc === 'number' && rc < 0) throw new CliError(`run: --handlers ${path}: init failed, returned ${rc}${k.lastError ? `: ${k.lastError}` : ''}`);
      }
    },
    finish() {
      if (!ks) return { log: [], errors: [] };
      if (typeof mod.exit === 'function') {
        try { mod.exit(ks); } catch (e) { ks.log.push(`exit: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`); }
      }
      const errors = ks.errors.map((e) => `${e.probe}: ${e.handler} failed ${e.count} time${e.count === 1 ? '' : 's'} (counted in nmissed): ${e.message}`);
      return { log: ks.log, errors };
    },
  };
}

function name(p: kprobe): string { return p.symbol_name ?? (p.addr !== undefined ? `0x${BigInt.asUintN(64, BigInt(p.addr)).toString(16)}` : '?'); }
