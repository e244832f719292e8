// The kernel-mode interrupt frames the CPUs pushed and have not yet returned from: what the kprobe
// optimizer asks (through src/emu/guest.ts) before it replaces instructions with a jump, since an
// interrupted context returns into the middle of them. Cpu.interrupt records a frame when it
// interrupts CPL 0 code; the iret that pops it (RSP at the frame's RIP slot) drops it. Both are rare
// events (one per interrupt), never in the hot loop. One log per machine, shared by its CPUs: a task
// interrupted on one CPU may be switched out and return (iret) on another.

export class InterruptFrames {
  /** Each live frame's RIP slot (its lowest word without the error code: the RSP its iret runs with). */
  readonly slots: number[] = [];
  /** The RIP it held when pushed (the slot is read again when asked: the kernel may change it, as an exception fixup does). */
  readonly rips: number[] = [];
  /** The CPU that pushed it. */
  readonly cpus: number[] = [];

  get size(): number { return this.slots.length; }

  push(slot: number, rip: number, cpu: number): void {
    // A frame pushed where a recorded one was: that one's stack was reused, so it is gone.
    this.drop(slot);
    this.slots.push(slot); this.rips.push(rip); this.cpus.push(cpu);
  }

  /** An iret with RSP = `slot`: the frame it pops, if recorded (a frame the guest built itself never was). */
  drop(slot: number): void {
    for (let i = this.slots.length - 1; i >= 0; i--) {
      if (this.slots[i] !== slot) continue;
      this.slots.splice(i, 1); this.rips.splice(i, 1); this.cpus.splice(i, 1);
      return;
    }
  }

  /** As numbers, for a machine snapshot. */
  save(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.slots.length; i++) out.push(this.slots[i]!, this.rips[i]!, this.cpus[i]!);
    return out;
  }

  load(a: readonly number[]): void {
    this.slots.length = this.rips.length = this.cpus.length = 0;
    for (let i = 0; i + 2 < a.length; i += 3) { this.slots.push(a[i]!); this.rips.push(a[i + 1]!); this.cpus.push(a[i + 2]!); }
  }
}
