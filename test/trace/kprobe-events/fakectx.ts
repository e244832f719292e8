// A fake machine state for fetch-argument evaluation: registers, a sparse little-endian memory
// (kernel and user halves) where unmapped bytes fault, a stack, and a symbolizer.
import type { FetchContext } from '../../../src/trace/kprobe-events/eval.js';
import type { RegName } from '../../../src/trace/kprobe-events/regs.js';
import type { Symbolizer } from '../../../src/trace/kprobe-events/format.js';

export class FakeMachine implements FetchContext {
  regs = new Map<string, bigint>();
  kmem = new Map<bigint, number>();
  umem = new Map<bigint, number>();
  stackBase = 0n;
  stackWords: bigint[] = [];
  args: bigint[] = [];
  entryArgs: bigint[] = [];
  task = 'cat';
  syms: { name: string; addr: bigint; size: bigint }[] = [];
  /** mem() calls, to check user/kernel access choice. */
  accesses: { addr: bigint; size: number; user: boolean }[] = [];

  setReg(r: RegName, v: bigint): this { this.regs.set(r, v); return this; }
  poke(addr: bigint, bytes: number[] | string, user = false): this {
    const m = user ? this.umem : this.kmem;
    const arr = typeof bytes === 'string' ? [...Buffer.from(bytes, 'latin1')] : bytes;
    arr.forEach((b, i) => m.set(addr + BigInt(i), b));
    return this;
  }
  poke64(addr: bigint, v: bigint, user = false): this {
    const b: number[] = [];
    for (let i = 0n; i < 8n; i++) b.push(Number((v >> (8n * i)) & 0xffn));
    return this.poke(addr, b, user);
  }

  reg(name: RegName): bigint { return this.regs.get(name) ?? 0n; }
  mem(addr: bigint, size: 1 | 2 | 4 | 8, user: boolean): bigint | undefined {
    this.accesses.push({ addr, size, user });
    const m = user ? this.umem : this.kmem;
    let v = 0n;
    for (let i = 0; i < size; i++) {
      const b = m.get(addr + BigInt(i));
      if (b === undefined) return undefined;
      v |= BigInt(b) << BigInt(8 * i);
    }
    return v;
  }
  stack(n: number): bigint { return this.stackWords[n] ?? 0n; }
  arg(n: number, entry: boolean): bigint { return (entry ? this.entryArgs : this.args)[n - 1] ?? 0n; }
  comm(): string { return this.task; }
  symbolize(addr: bigint): string { return fakeSymbolizer(this.syms).withOffset(addr); }
}

export function fakeSymbolizer(syms: { name: string; addr: bigint; size: bigint }[]): Symbolizer {
  const find = (a: bigint) => syms.find((s) => a >= s.addr && a < s.addr + s.size);
  return {
    withOffset(a) {
      const s = find(a);
      return s ? `${s.name}+0x${(a - s.addr).toString(16)}/0x${s.size.toString(16)}` : `0x${a.toString(16)}`;
    },
    noOffset(a) { return find(a)?.name; },
  };
}
