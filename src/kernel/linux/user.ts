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
import type { Cpu } from '../../emu/cpu.js';
import { Reg } from '../../emu/cpu.js';
import { USER_ARENA_BASE, USER_ARENA_SIZE } from '../contract.js';
import type { Platform } from '../platform.js';
import { toAddr } from '../../base/addr.js';

/** A page of ktrace's own, outside guest-physical memory (the module area, which this kernel never
 *  maps: it loads no modules): `vmcall; ret`. Linux's pm_power_off is pointed here when /init starts
 *  (here; platform.ts maps the page and takes its vmcall),
 *  so that reboot(LINUX_REBOOT_CMD_POWER_OFF) ends the run as a power-off. */
export const POWEROFF_PAGE = toAddr(0xffffffffbfff0000n);

const PAGE = 4096;
const NR_MMAP = 9, NR_EXIT = 60, NR_REBOOT = 169, NR_EXIT_GROUP = 231;
const PROT_RW = 3, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_POPULATE = 0x8000;
const REBOOT = [0xfee1dead, 672274793, 0x4321fedc]; // LINUX_REBOOT_MAGIC1, MAGIC2, CMD_POWER_OFF

export interface UserCall { nr: number; args: number[]; rsp?: number }

interface Injection {
  /** The script's call, issued once the memory it needs is there. */
  req: UserCall;
  /** The mmap in flight. */
  start: number; len: number;
}

export class LinuxUser {
  /** Pages Linux has mapped for the workload. */
  private readonly mapped = new Set<number>();
  /** Page-aligned [start, end) ranges asked for and not mapped yet, in the order asked. */
  private wanted: [number, number][] = [];
  private pendingWrites: { addr: number; bytes: Uint8Array }[] = [];
  /** Tasks in the middle of the host's own calls, by stack pointer. */
  private readonly injecting = new Map<number, Injection>();
  private first = true;
  /** The main task's stack top (arena 0). */
  private readonly mainStack = USER_ARENA_BASE + USER_ARENA_SIZE;

  constructor(private readonly p: Platform) {}

  map(addr: number, size: number): void {
    const start = Math.floor(addr / PAGE) * PAGE, end = Math.ceil((addr + size) / PAGE) * PAGE;
    let runStart = -1;
    for (let a = start; a <= end; a += PAGE) {
      const need = a < end && !this.mapped.has(a) && !this.wanted.some(([s, e]) => a >= s && a < e);
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
    const rax = Number(BigInt.asIntN(64, cpu.getReg(Reg.RAX)));
    const inj = this.injecting.get(rsp);
    if (inj) {
      if (rax !== inj.start) {
        return { error: `mmap(0x${inj.start.toString(16)}, ${inj.len}) for the workload's memory failed (${rax})` };
      }
      for (let a = inj.start; a < inj.start + inj.len; a += PAGE) this.mapped.add(a);
      this.flushWrites();
      return this.issue(rsp, inj.req);
    }
    let runnerRsp = rsp;
    let moveTo: number | undefined;
    if (this.first) {
      this.first = false;
      runnerRsp = moveTo = this.mainStack;
      this.p.machine.mem.write64(this.p.image.symbolAddr('pm_power_off') ?? 0, BigInt.asUintN(64, BigInt(POWEROFF_PAGE)));
    }
    const req = this.p.workload!.hostCall(runnerRsp, rax);
    if ('error' in req) return req;
    let call: UserCall = { nr: req.nr, args: req.args, rsp: moveTo };
    if ((req.nr === NR_EXIT || req.nr === NR_EXIT_GROUP) && runnerRsp === this.mainStack) {
      call = { nr: NR_REBOOT, args: REBOOT, rsp: moveTo };
    }
    return this.issue(rsp, call);
  }

  /** The next mmap the workload's memory needs before `req`, or `req` itself. */
  private issue(rsp: number, req: UserCall): UserCall {
    const next = this.wanted.shift();
    if (!next) { this.injecting.delete(rsp); return req; }
    const [start, end] = next;
    this.injecting.set(rsp, { req, start, len: end - start });
    return { nr: NR_MMAP, args: [start, end - start, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0] };
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
