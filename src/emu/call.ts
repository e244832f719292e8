// Call a guest function directly (tests, the platform): set up a stack on scratch pages, push a return
// address that lands on a vmcall stub, and run until the function returns there.
import { toAddr } from '../base/addr.js';
import { Cpu, Reg } from './cpu.js';
import { Machine } from './machine.js';
import { Stop } from './stop.js';
import { PAGE_SIZE, PERM_R, PERM_W, PERM_X, PERM_U } from './memory.js';

export interface CallOptions {
  /** instruction budget (default 100 million) */
  budget?: number;
  /** top of the scratch stack (default: a private supervisor area); mapped if not mapped yet */
  stackTop?: number;
  stackSize?: number;
  /** run the call at CPL 3 (user pages); default CPL 0 */
  user?: boolean;
  /** where the return stub lives (default: one page below the scratch stack) */
  stubAddr?: number;
}
export interface CallResult { ret: bigint; stop: Stop; }

// A corner of the vmalloc range that ktrace-pc's platform never maps (README "Memory").
const DEFAULT_STACK_TOP = toAddr(0xffffc90000100000n);
const DEFAULT_USER_STACK_TOP = 0x7ff000000000;

export function callFunction(machine: Machine, cpu: Cpu, addr: number, args: bigint[], opts: CallOptions = {}): CallResult {
  const mem = machine.mem;
  const user = !!opts.user;
  const size = opts.stackSize ?? 16 * PAGE_SIZE;
  const top = opts.stackTop ?? (user ? DEFAULT_USER_STACK_TOP : DEFAULT_STACK_TOP);
  const stub = opts.stubAddr ?? top - size - PAGE_SIZE;
  const u = user ? PERM_U : 0;
  if (mem.permsAt(top - size) === 0) mem.map(top - size, size, PERM_R | PERM_W | u);
  if (mem.permsAt(stub) === 0) {
    mem.map(stub - (stub & 4095), PAGE_SIZE, PERM_R | PERM_X | u);
    mem.writeBytes(stub, Uint8Array.of(0x0f, 0x01, 0xc1)); // vmcall
  }
  const regs = [Reg.RDI, Reg.RSI, Reg.RDX, Reg.RCX, Reg.R8, Reg.R9];
  for (let i = 0; i < Math.min(6, args.length); i++) cpu.setReg(regs[i], args[i]);
  // SysV: stack arguments above the return address; RSP+8 is 16-byte aligned at function entry
  const extra = args.slice(6);
  let sp = top - 64 - extra.length * 8;
  sp -= ((sp % 16) + 16) % 16;
  for (let i = 0; i < extra.length; i++) mem.write64(sp + i * 8, extra[i]);
  sp -= 8;
  mem.write64(sp, BigInt.asUintN(64, BigInt(stub)));
  cpu.setRegNum(Reg.RSP, sp);
  cpu.rip = addr;
  if (user) { cpu.cs = 0x33; cpu.ss = 0x2b; cpu.setCpl(3); } else { cpu.cs = 0x10; cpu.ss = 0x18; cpu.setCpl(0); }
  let left = opts.budget ?? 100_000_000;
  for (;;) {
    const before = cpu.instret + cpu.probeInstret;
    const stop = machine.runStoppingOnHostCalls(cpu, left);
    left -= cpu.instret + cpu.probeInstret - before;
    if (stop === Stop.HostCall && cpu.faultAddr === stub) return { ret: cpu.getReg(Reg.RAX), stop };
    return { ret: cpu.getReg(Reg.RAX), stop };
  }
}
