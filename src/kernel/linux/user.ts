// The workload's user memory on real Linux. On the miniature kernel the host maps user pages itself;
// here user memory belongs to Linux, so the host asks for it with ordinary system calls issued through
// /init's stub (fixtures/linux/init.c: the host-call contract) before the call that needs it:
//   mmap(addr, len, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED|MAP_POPULATE, -1, 0)
// Its pages are then present (and dirty) in the task's page tables, and the host reads and writes them
// through those tables (Memory.onHostMiss -> GuestMmu.mapForHost). What the runner writes before its
// pages exist waits until the mmap that makes them has returned. All tasks share one address space
// (clone(CLONE_VM)), so memory mapped in one task is there for all.
//
// Tasks are told apart by their stacks, as on the miniature kernel (the runner's arenas). pid 1's first
// host call comes on the stack Linux gave /init: the host moves it onto arena 0's stack once that stack
// is mapped. pid 1 must not exit (Linux panics): where the script's main task exits, the host issues
// reboot(LINUX_REBOOT_CMD_POWER_OFF) instead, which reaches ktrace's pm_power_off (platform.ts).
//
// One script call is made of Linux's own: socketpair(AF_INET, SOCK_STREAM), the miniature kernel's
// extension, which Linux refuses. The host connects two TCP sockets over 127.0.0.1 through the same
// stub (socket, bind, listen, getsockname, socket, connect, accept4, close) and gives the script the
// pair, so the workloads run with the same expects on both kernels. Like the mmaps, these calls are the
// host's: the run's system call table counts the script's socketpair, and probes see the real calls.
//
// The memory most scripts need is mapped at the end of boot, whatever the script (PREMAP: the first
// pages of the string pool and the whole of arena 0, the main task's heap and stack), by the platform's
// own mmaps at /init's first host call (platform.ts), so that it is in the boot snapshot: the mmap and
// MAP_POPULATE path is about a third of the distinct kernel code a short warm run would otherwise execute
// (the cat workload: ~6,000 of ~18,000 instructions, ~100K of ~350K executed). A script that needs more
// (more strings, other tasks' arenas) gets its own mmaps for the rest, as before.
import type { Cpu } from '../../emu/cpu.js';
import { Reg } from '../../emu/cpu.js';
import { USER_ARENA_BASE, USER_ARENA_SIZE, USER_STRINGS } from '../contract.js';
import type { Platform } from '../platform.js';
import { toAddr } from '../../base/addr.js';

/** A page of ktrace's own, outside guest-physical memory (the module area, which this kernel never
 *  maps: it loads no modules): `vmcall; ret`. Linux's pm_power_off is pointed here when /init starts
 *  (here; platform.ts maps the page and takes its vmcall),
 *  so that reboot(LINUX_REBOOT_CMD_POWER_OFF) ends the run as a power-off. */
export const POWEROFF_PAGE = toAddr(0xffffffffbfff0000n);

const PAGE = 4096;

/** The user memory mapped at the end of boot, for every script (see above): page-aligned [start, end). */
export const PREMAP: readonly (readonly [number, number])[] = [
  [USER_STRINGS, USER_STRINGS + 4 * PAGE],
  [USER_ARENA_BASE, USER_ARENA_BASE + USER_ARENA_SIZE],
];
const premapped = (a: number): boolean => PREMAP.some(([s, e]) => a >= s && a < e);

const NR_CLOSE = 3, NR_SOCKET = 41, NR_CONNECT = 42, NR_BIND = 49, NR_LISTEN = 50, NR_GETSOCKNAME = 51;
const NR_SOCKETPAIR = 53, NR_EXIT = 60, NR_FCNTL = 72, NR_REBOOT = 169, NR_EXIT_GROUP = 231, NR_ACCEPT4 = 288;
export const NR_MMAP = 9;
const PROT_RW = 3, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_POPULATE = 0x8000;
const AF_INET = 2, SOCK_STREAM = 1, SOCK_TYPE_MASK = 0xf, SOCK_NONBLOCK = 0o4000, SOCK_CLOEXEC = 0o2000000;
const IPPROTO_TCP = 6, F_SETFL = 4, O_NONBLOCK = 0o4000;
const REBOOT = [0xfee1dead, 672274793, 0x4321fedc]; // LINUX_REBOOT_MAGIC1, MAGIC2, CMD_POWER_OFF

/** mmap's arguments for the workload's memory [start, end): anonymous, fixed, populated. */
export function mmapArgs(start: number, end: number): number[] {
  return [start, end - start, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0];
}
/** The error that ends a run whose mmap of the workload's memory [start, end) returned `r`, not `start`. */
export function mmapFailed(start: number, end: number, r: number): string {
  return `mmap(0x${start.toString(16)}, ${end - start}) for the workload's memory failed (${r})`;
}

export interface UserCall { nr: number; args: number[]; rsp?: number }

/**
 * The host's own calls for one script call: each yield is a system call to issue (the value sent back
 * is its result); the return is the script's call to issue, or the result to give the script in its
 * place (`{ result }`: the script's call was made of the host's calls), or an error that ends the run.
 */
type Injection = Generator<UserCall, UserCall | { result: number } | { error: string }, number>;

/**
 * Whether Linux runs the script's call as it is. socketpair(AF_INET, SOCK_STREAM) is the miniature
 * kernel's extension (two TCP sockets connected over 127.0.0.1; Linux refuses it, -EOPNOTSUPP):
 * here the host makes the same connection from what Linux offers, so that a workload runs with the
 * same expects on both kernels.
 */
export function isInetSocketPair(nr: number, args: readonly number[]): boolean {
  return nr === NR_SOCKETPAIR && args[0] === AF_INET && (args[1] & SOCK_TYPE_MASK) === SOCK_STREAM &&
    (args[2] === 0 || args[2] === IPPROTO_TCP) && (args[1] & ~(SOCK_TYPE_MASK | SOCK_NONBLOCK | SOCK_CLOEXEC)) === 0;
}

export class LinuxUser {
  /** Pages Linux has mapped for the workload. */
  private readonly mapped = new Set<number>();
  /** Page-aligned [start, end) ranges asked for and not mapped yet, in the order asked. */
  private wanted: [number, number][] = [];
  private pendingWrites: { addr: number; bytes: Uint8Array }[] = [];
  /** Tasks in the middle of the host's own calls, by the stack pointer of their next host call. */
  private readonly injecting = new Map<number, Injection>();
  private first = true;
  /** The main task's stack top (arena 0). */
  private readonly mainStack = USER_ARENA_BASE + USER_ARENA_SIZE;

  constructor(private readonly p: Platform) {}

  map(addr: number, size: number): void {
    const start = Math.floor(addr / PAGE) * PAGE, end = Math.ceil((addr + size) / PAGE) * PAGE;
    let runStart = -1;
    for (let a = start; a <= end; a += PAGE) {
      const need = a < end && !this.mapped.has(a) && !premapped(a) && !this.wanted.some(([s, e]) => a >= s && a < e);
      if (need && runStart < 0) runStart = a;
      if (!need && runStart >= 0) { this.wanted.push([runStart, a]); runStart = -1; }
    }
  }

  private isMapped(addr: number, len: number): boolean {
    for (let a = Math.floor(addr / PAGE) * PAGE; a < addr + len; a += PAGE) if (!this.mapped.has(a)) return false;
    return true;
  }

  write(addr: number, bytes: Uint8Array): void {
    if (this.isMapped(addr, bytes.length)) this.p.machine.mem.writeBytes(addr, bytes);
    else this.pendingWrites.push({ addr, bytes: bytes.slice() });
  }

  read(addr: number, len: number): Uint8Array {
    for (const w of this.pendingWrites) {
      if (addr >= w.addr && addr + len <= w.addr + w.bytes.length) return w.bytes.slice(addr - w.addr, addr - w.addr + len);
    }
    return this.p.machine.mem.readBytes(addr, len);
  }

  /** A task's host call: the next system call it makes (the host's own, or the script's). */
  hostCall(cpu: Cpu): UserCall | { error: string } {
    const rsp = cpu.getRegNum(Reg.RSP);
    let rax = Number(BigInt.asIntN(64, cpu.getReg(Reg.RAX)));
    const inj = this.injecting.get(rsp);
    if (inj) {
      this.injecting.delete(rsp);
      const step = inj.next(rax);
      if (!step.done) return this.yielded(rsp, inj, step.value);
      if (!('result' in step.value)) return step.value;
      rax = step.value.result; // the script's call made by the host's: its result, and the script goes on
    }
    let runnerRsp = rsp;
    let moveTo: number | undefined;
    if (this.first) {
      this.first = false;
      // boot mapped PREMAP (the platform's mmaps at /init's first host calls): what waited for it is written now
      for (const [s, e] of PREMAP) for (let a = s; a < e; a += PAGE) this.mapped.add(a);
      this.flushWrites();
      runnerRsp = moveTo = this.mainStack;
      this.p.machine.mem.write64(this.p.image.symbolAddr('pm_power_off') ?? 0, BigInt.asUintN(64, BigInt(POWEROFF_PAGE)));
    }
    const req = this.p.workload!.hostCall(runnerRsp, rax);
    if ('error' in req) return req;
    let call: UserCall = { nr: req.nr, args: req.args };
    if ((req.nr === NR_EXIT || req.nr === NR_EXIT_GROUP) && runnerRsp === this.mainStack) {
      call = { nr: NR_REBOOT, args: REBOOT };
    }
    const gen = this.prepare(call, runnerRsp, moveTo);
    const step = gen.next(0);
    if (!step.done) return this.yielded(rsp, gen, step.value);
    if ('result' in step.value) return { error: 'a host-made call finished before it was issued' };
    return step.value;
  }

  /** Issue the host's call `c`; the task's next host call (on `c.rsp` if it moves) goes on with `inj`. */
  private yielded(rsp: number, inj: Injection, c: UserCall): UserCall {
    this.injecting.set(c.rsp ?? rsp, inj);
    return c;
  }

  /**
   * What the script's `req` needs first: the mmaps for memory the runner wants, then `req` itself, or
   * for an AF_INET socket pair (isInetSocketPair) the host's TCP connection. The first call issued
   * carries `moveTo`, pid 1's move onto arena 0's stack.
   */
  private *prepare(req: UserCall, runnerRsp: number, moveTo: number | undefined): Injection {
    for (let next = this.wanted.shift(); next; next = this.wanted.shift()) {
      const [start, end] = next;
      const r = yield { nr: NR_MMAP, args: mmapArgs(start, end) };
      if (r !== start) return { error: mmapFailed(start, end, r) };
      for (let a = start; a < end; a += PAGE) this.mapped.add(a);
      this.flushWrites();
    }
    if (!isInetSocketPair(req.nr, req.args)) return { ...req, rsp: moveTo };
    return yield* this.inetSocketPair(req.args, runnerRsp - 64, moveTo);
  }

  /**
   * socketpair(AF_INET, SOCK_STREAM | flags, 0, sv) from Linux's own calls: a listener bound to
   * 127.0.0.1 on an ephemeral port (/init brought the loopback device up), a socket connected to it
   * and the accepted one (sv[0] connects, sv[1] was accepted, as the miniature kernel's pair), the
   * listener closed. SOCK_CLOEXEC and SOCK_NONBLOCK apply to both ends. A failing step closes what it
   * opened and is the pair's result. `scratch`: 32 bytes of the task's stack (the stub never uses
   * its stack) for the address.
   */
  private *inetSocketPair(args: readonly number[], scratch: number, moveTo: number | undefined): Injection {
    const [, type, protocol, sv] = args;
    const mem = this.p.machine.mem;
    const sockType = SOCK_STREAM | (type & SOCK_CLOEXEC);
    const l = yield { nr: NR_SOCKET, args: [AF_INET, sockType, protocol], rsp: moveTo };
    if (l < 0) return { result: l };
    const fail = function* (err: number, fds: number[]): Injection {
      for (const fd of fds) yield { nr: NR_CLOSE, args: [fd] };
      return { result: err };
    };
    // struct sockaddr_in: family, port 0 (the kernel picks one), 127.0.0.1; then a socklen_t
    mem.writeBytes(scratch, Uint8Array.of(AF_INET, 0, 0, 0, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0));
    let r = yield { nr: NR_BIND, args: [l, scratch, 16] };
    if (r === 0) r = yield { nr: NR_LISTEN, args: [l, 1] };
    if (r === 0) r = yield { nr: NR_GETSOCKNAME, args: [l, scratch, scratch + 16] };
    if (r !== 0) return yield* fail(r, [l]);
    const c = yield { nr: NR_SOCKET, args: [AF_INET, sockType, protocol] };
    if (c < 0) return yield* fail(c, [l]);
    r = yield { nr: NR_CONNECT, args: [c, scratch, 16] };
    if (r !== 0) return yield* fail(r, [c, l]);
    const a = yield { nr: NR_ACCEPT4, args: [l, 0, 0, type & (SOCK_NONBLOCK | SOCK_CLOEXEC)] };
    if (a < 0) return yield* fail(a, [c, l]);
    yield { nr: NR_CLOSE, args: [l] };
    if (type & SOCK_NONBLOCK) {
      r = yield { nr: NR_FCNTL, args: [c, F_SETFL, O_NONBLOCK] };
      if (r !== 0) return yield* fail(r, [c, a]);
    }
    const fds = new Uint8Array(8);
    new DataView(fds.buffer).setInt32(0, c, true);
    new DataView(fds.buffer).setInt32(4, a, true);
    this.write(sv, fds);
    return { result: 0 };
  }

  private flushWrites(): void {
    const keep: { addr: number; bytes: Uint8Array }[] = [];
    for (const w of this.pendingWrites) {
      if (this.isMapped(w.addr, w.bytes.length)) this.p.machine.mem.writeBytes(w.addr, w.bytes);
      else keep.push(w);
    }
    this.pendingWrites = keep;
  }
}
