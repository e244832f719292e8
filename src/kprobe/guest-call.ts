// Calling kernel code from inside a probe handler, as a kernel handler calls a kernel function (the
// selftest's test_kprobe_missed probes a function and calls it again from the handler). The call runs
// on the probed CPU, on its own stack below the interrupted frame, with interrupts off (handlers run
// non-preemptible); a probe it hits is dispatched to the manager (nested hits count in nmissed). The
// interrupted context is restored afterwards and every instruction the call retired counts as probe
// overhead (cpu.probeInstret), not as the kernel's own work.
import { Reg, type Cpu } from '../emu/cpu.js';
import { Stop, stopName } from '../emu/machine.js';
import { guestPush, retire } from '../emu/guest.js';
import { HandlerFault, type KprobeManager } from './kprobes.js';

const stubs = new WeakMap<KprobeManager, number>();

/** Call `addr(args...)` on `cpu` from inside a handler; returns RAX. An unhandled guest fault throws HandlerFault. */
export function callFromHandler(mgr: KprobeManager, cpu: Cpu, addr: number, args: bigint[], budget = 50_000_000): bigint {
  let stub = stubs.get(mgr);
  if (stub === undefined) {
    stub = mgr.slots.alloc();
    mgr.machine.mem.writeBytes(stub, Uint8Array.of(0x0f, 0x01, 0xc1)); // vmcall: "the call returned"
    stubs.set(mgr, stub);
  }
  if (args.length > 6) throw new RangeError('callFromHandler: at most 6 register arguments');
  const saved = { regs: cpu.regs.slice(), rip: cpu.rip, flags: cpu.getRflags(), shadow: cpu.shadow,
    instret: cpu.instret, nextTimer: cpu.nextTimer };
  try {
    // below the red zone of the interrupted frame, 16-byte aligned before the return address push
    let sp = cpu.getRegNum(Reg.RSP) - 512;
    sp -= ((sp % 16) + 16) % 16;
    sp -= 8;
    cpu.setRegNum(Reg.RSP, sp + 8);
    if (!guestPush(cpu, stub)) throw new HandlerFault(cpu.trapVector, `call from a kprobe handler: its stack at ${mgr.image.formatAddr(sp)} faulted`);
    const order = [Reg.RDI, Reg.RSI, Reg.RDX, Reg.RCX, Reg.R8, Reg.R9];
    args.forEach((v, i) => cpu.setReg(order[i], BigInt.asUintN(64, v)));
    cpu.rip = addr; cpu.if_ = 0; cpu.tf = 0; cpu.shadow = false;
    cpu.nextTimer = Infinity; // no timer tick is due inside a handler
    let left = budget;
    for (;;) {
      const before = cpu.instret + cpu.probeInstret;
      const stop = mgr.machine.runStoppingOnHostCalls(cpu, left);
      left -= cpu.instret + cpu.probeInstret - before;
      if (stop === Stop.HostCall && cpu.faultAddr === stub) break;
      if (mgr.handleTrap(cpu, stop)) { if (left > 0) continue; }
      const fault = stop === Stop.PageFault || stop === Stop.GeneralProtection || stop === Stop.InvalidOpcode ||
        stop === Stop.DivideError || stop === Stop.Exception;
      throw new HandlerFault(fault ? cpu.trapVector : -1,
        `call from a kprobe handler stopped: ${stopName(stop)} at ${mgr.image.formatAddr(cpu.rip)}` +
        (stop === Stop.PageFault ? ` (address ${mgr.image.formatAddr(cpu.faultAddr)})` : ''), fault);
    }
    return cpu.getReg(Reg.RAX);
  } finally {
    const did = cpu.instret - saved.instret;
    cpu.probeInstret += did;
    retire(cpu, -did); // the handler's call counts as probe overhead, not guest time
    cpu.nextTimer = saved.nextTimer;
    cpu.regs.set(saved.regs);
    cpu.setRflags(saved.flags);
    cpu.rip = saved.rip; cpu.shadow = saved.shadow;
  }
}
