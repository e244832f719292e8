// Why a run of the emulator ended: the Stop values Machine.run returns and instructions request (cpu.stop).
// A file of its own so that the instruction runtime can name them without importing the machine
// (which imports the compiler, which imports the runtime).
import { VEC_DE, VEC_GP, VEC_PF, VEC_UD } from '../base/x86.js';

export const enum Stop {
  Budget, Breakpoint, Debug, PageFault, GeneralProtection, InvalidOpcode, DivideError, Halt, HostCall,
  Requested, DoubleFault, Exception,
}
export const STOP_NAMES = ['Budget', 'Breakpoint', 'Debug', 'PageFault', 'GeneralProtection', 'InvalidOpcode',
  'DivideError', 'Halt', 'HostCall', 'Requested', 'DoubleFault', 'Exception'];
export function stopName(s: Stop): string { return STOP_NAMES[s] ?? `Stop(${s})`; }

/** The Stop for an exception vector the guest could not take. */
export function vectorStop(v: number): Stop {
  switch (v) {
    case VEC_PF: return Stop.PageFault;
    case VEC_GP: case 12: return Stop.GeneralProtection;
    case VEC_UD: return Stop.InvalidOpcode;
    case VEC_DE: return Stop.DivideError;
    default: return Stop.Exception;
  }
}
