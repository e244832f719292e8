// The machine: memory, CPUs, the decode cache, and the run loop that turns guest events into Stop values.
// Several CPUs interleave deterministically on one host thread in instruction quanta.
import { Cpu } from './cpu.js';
import { InterruptFrames } from './frames.js';
import { VEC_DB, VEC_IPI, VEC_TIMER } from '../base/x86.js';
import { CHUNK_MASK, CHUNK_SHIFT, DecodeCache, MAX_BLOCK, newPageTable, pageGet, pageSet, type Block, type Op } from './decode.js';
import { compileBlocks, compileOp, endsBlock, newBlock } from './compile.js';
import { FAULT, Memory, PAGE_PROBE, PAGE_SIZE, PERM_U, PERM_X, type Page } from './memory.js';
import { STATS_ON, stats } from './stats.js';
import { Mnemonic } from './iced.js';
import { Stop, vectorStop } from './stop.js';
// Stop's home is stop.ts; re-exported here for the machine's users.
export { Stop, stopName, STOP_NAMES } from './stop.js';

/** Blocks compiled together at most (the hot one and warm blocks on its page). */
const BATCH = 24;
/** Entries after which a block is compiled (tiered execution: colder code runs one instruction at a time).
 *  100 since cold code is stepped several instructions a call (stepRun): 40 then compiled ~225 blocks in a
 *  warm real-Linux cat run, 100 compiles ~35 (single steps 135K -> 189K): that run 0.76x CPU, the cold Linux
 *  boot ~0.8x, the miniature's compute run 0.91x. */
export const HOT_AFTER = 100;

/** Head and tail blocks (Block.head) are compiled after (EDGE_HEAT + 1) x hotAfter entries: their
 *  sources are generated again in each run, and most quantum boundaries fall at a place only a few times
 *  (kernel workload, 122M instructions: compiling them at 4x hotAfter cost more than it saved). */
const EDGE_HEAT = 10;

/** Machine.events' answers besides a Stop (>= 0). */
const EV_NONE = -1, EV_INTERRUPT = -2;

/** No budget applies to probe pages: their code always runs to where it leaves them. */
const PROBE_LIMIT = 1e15;

export interface MachineOptions { cpus: number; seed?: number; }

/** A 32-bit print of a block's instructions (their addresses and bytes): Machine.hotHint. */
export function blockPrint(ops: readonly Op[]): number {
  let h = 0x811c9dc5 ^ ops.length;
  for (const op of ops) {
    h = Math.imul(h ^ (op.ip & 0xffff), 0x01000193);
    const b = op.bytes;
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193);
  }
  return h >>> 0;
}

/** Does a block's ops (at most MAX_BLOCK) hold the instruction at `ip`? (collect: a scan, cheaper than a
 *  Set of each block's addresses, ~2,500 blocks in a short real-Linux run) */
function holds(ops: readonly Op[], ip: number): boolean {
  for (let i = 0; i < ops.length; i++) if (ops[i].ip === ip) return true;
  return false;
}

/**
 * Steps through cold block `b` from its op `i` (one single-instruction function each), while nothing that
 * the run loop looks at between two instructions changes: no stop, halt, trap flag, interrupt shadow,
 * pending interrupt it could take, budget end (`end`) or timer deadline, the block still valid and RIP at
 * its next op. Returns the index of the op to run next (`b.n`: the block is done); the run loop then does
 * exactly what it would have done after the last of them alone. A fault throws, as the op did.
 * (Each instruction going round the whole run loop cost more than the instruction: ~134K single steps
 * in a short real-Linux run.)
 */
function stepRun(c: Cpu, R: Uint32Array, m: Memory, b: Block, i: number, end: number): number {
  const ops = b.ops, ips = b.ips, n = b.n;
  for (;;) {
    const op = ops[i];
    let fn = op.fn;
    if (fn === null) fn = op.fn = compileOp(op, b.probe);
    if (STATS_ON) stats.singleSteps++;
    m.smc = 0;
    fn(c, R, m, 1);
    if (++i >= n || c.stop !== 0 || c.halted || c.tf !== 0 || c.shadow || !b.valid || ips[i] !== c.rip
      || c.instret >= end || c.instret + c.idleNs >= c.nextTimer || c.pending * c.if_ !== 0) return i;
  }
}

/** A compiled block faulted: retire the instructions before the faulting one (RIP), which its function
 *  did not count. */
function retireFault(c: Cpu, blk: Block): void {
  let k = 0; while (k < blk.n && blk.ips[k] !== c.rip) k++;
  if (blk.pre > 0 && k >= blk.pre) k -= blk.pre; // already counted before the system instruction
  if (blk.probe) c.probeInstret += k; else c.instret += k;
}

export class Machine {
  readonly mem = new Memory();
  readonly cpus: Cpu[] = [];
  /** The kernel-mode interrupt frames not yet returned from, all CPUs' (frames.ts). */
  readonly frames = new InterruptFrames();
  readonly decoder: DecodeCache;
  onPortIn: (cpu: Cpu, port: number, size: 1 | 2 | 4) => number = () => 0xffffffff;
  onPortOut: (cpu: Cpu, port: number, size: 1 | 2 | 4, value: number) => void = () => {};
  private rng: number;
  private inRunAll = false;
  /** Round-robin position kept across runAll calls: the CPU to run next and what is left of its quantum. */
  private rrNext = 0;
  private rrLeft = 0;
  private rrRan = false;
  /** The CPU at rrNext was handed a stop mid-quantum: the next call goes on exactly as if the owner had
   *  handled the stop in place (rrLeft may then be 0: the quantum is used up). */
  private rrCont = false;
  /** When set, every block entered and every single-stepped op is added (the boot snapshot's record of
   *  the code boot ran: kernel/snapshot.ts). */
  entered: Set<{ ops: Op[] } | Op> | null = null;
  /**
   * Handles a vmcall right where it executes, like port I/O (true = handled, go on at cpu.rip): host
   * calls are the fast path of optimized probes and return trampolines, so they skip the stop. When it
   * returns false the owner has already ended the run, and the CPU stops with Stop.Requested.
   * Without it (null) a vmcall stops the CPU with Stop.HostCall.
   */
  onHostCall: ((cpu: Cpu) => boolean) | null = null;
  /** Platform hooks for another machine than ktrace-pc (CpuHost.cpuid/readMsr/writeMsr): CPUID leaves
   *  (undefined: ktrace-pc's answer) and MSRs ktrace-pc lacks (undefined / false: #GP). */
  onCpuid: ((cpu: Cpu, leaf: number, sub: number) => [number, number, number, number] | undefined) | null = null;
  onMsrRead: ((cpu: Cpu, n: number) => bigint | undefined) | null = null;
  onMsrWrite: ((cpu: Cpu, n: number, v: bigint) => boolean) | null = null;
  /** Guest translation changes (CpuHost.onPaging): 0 CR3 write, 1 invlpg (addr), 2 CR4 write, 3 CR0 write. */
  onPaging: ((cpu: Cpu, kind: number, addr: number) => void) | null = null;
  /** A platform's own timer (e.g. a PIT behind an 8259): called instead of raising VEC_TIMER when
   *  cpu.clock() reaches cpu.nextTimer; it raises what it wants and must move cpu.nextTimer past now
   *  (or to Infinity). */
  onTimer: ((cpu: Cpu) => void) | null = null;
  /** Runs a CPU that is in real or protected mode (cpu.mode 1: legacy.ts) for at most `budget`
   *  instructions: the Stop it ended with, or null once it is in 64-bit mode (run() goes on there). */
  onLegacy: ((cpu: Cpu, budget: number) => Stop | null) | null = null;
  /** Called as run() takes up a CPU (a platform whose page map is shared by CPUs with different CR3s
   *  drops the other address space's mappings). */
  onEnter: ((cpu: Cpu) => void) | null = null;
  /** Handles a stop without leaving runAll (true = handled): the platform's trap dispatch. */
  onTrap: ((cpu: Cpu, stop: Stop) => boolean) | null = null;
  /** countExecutions state (tests): address -> index, and the counts. */
  private execIndex: Map<number, number> | null = null;
  private execCounts = new Float64Array(0);
  /** Debug/test switch: run every instruction through the single-instruction path (no blocks). */
  interpretOnly = false;
  /** Tiering: a block is compiled on its hotAfter-th entry (1: compile everything at once, for tests). */
  hotAfter = HOT_AFTER;
  /** Blocks an earlier run compiled, by start address, with their blockPrint (kernel/code-cache.ts): such a
   *  block is compiled when it is built instead of being stepped through hotAfter times, from the source
   *  the entry keeps for it (compile.ts blockSources), so a warm run compiles what the cold one did (the
   *  one warm-start hint; tiering never changes what runs; the print keeps other code at the same
   *  address, another process's, cold). */
  hotHint: Map<number, number> | null = null;
  /** The blocks of the guest's control flow (not head or tail blocks) this machine compiled (from
   *  buildBlock's hint or on tiering up, invalidated since or not),
   *  start address and blockPrint, flat, in order: the next run's hotHint (kernel/code-cache.ts saveCode). */
  readonly compiledLog: number[] = [];
  /** Per CPU (by id): the block it was stepping through when a run ended on its budget or an interrupt
   *  came, and the index of the op at which it left it: when no block starts there, the CPU goes on in a
   *  block made of that block's rest (headBlock). */
  private readonly leftBlk: (Block | null)[] = new Array<Block | null>(64).fill(null);
  private readonly leftI = new Int32Array(64);

  constructor(opts: MachineOptions) {
    if (!(opts.cpus >= 1 && opts.cpus <= 64)) throw new Error(`Machine: cpus must be 1..64, got ${opts.cpus}`);
    this.decoder = new DecodeCache(this.mem);
    this.rng = ((opts.seed ?? 1) >>> 0) || 0x9e3779b9;
    const host = {
      onPortIn: (c: Cpu, p: number, s: 1 | 2 | 4) => this.onPortIn(c, p, s),
      onPortOut: (c: Cpu, p: number, s: 1 | 2 | 4, v: number) => this.onPortOut(c, p, s, v),
      onHostCall: (c: Cpu) => (this.onHostCall === null ? 0 : this.onHostCall(c) ? 1 : 2),
      cpuid: (c: Cpu, leaf: number, sub: number) => this.onCpuid?.(c, leaf, sub),
      readMsr: (c: Cpu, n: number) => this.onMsrRead?.(c, n),
      writeMsr: (c: Cpu, n: number, v: bigint) => this.onMsrWrite?.(c, n, v) ?? false,
      onPaging: (c: Cpu, kind: number, addr: number) => this.onPaging?.(c, kind, addr),
    };
    for (let i = 0; i < opts.cpus; i++) { const c = new Cpu(i, this.mem); c.host = host; c.frames = this.frames; this.cpus.push(c); }
  }

  /** The scheduling state that is not on the CPUs, and the live interrupt frames (snapshots). */
  saveState(): number[] { return [this.rng, this.rrNext, this.rrLeft, this.rrRan ? 1 : 0, this.rrCont ? 1 : 0, ...this.frames.save()]; }
  loadState(s: number[]): void {
    this.rng = s[0]; this.rrNext = s[1]; this.rrLeft = s[2]; this.rrRan = s[3] === 1; this.rrCont = s[4] === 1;
    this.frames.load(s.slice(5));
  }

  /** Deterministic xorshift32: timer jitter and anything else the machine randomises. */
  random(): number {
    let x = this.rng;
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return (this.rng = x);
  }
  /** Seeded jitter for a timer period: uniform in [-period/8, +period/8]. */
  jitter(period: number): number {
    const r = period >>> 3;
    return r === 0 ? 0 : (this.random() % (2 * r + 1)) - r;
  }
  /** Arm (or with 0 stop) cpu's periodic timer, in instructions of its emulated time (port 0x40). */
  setTimer(cpu: Cpu, period: number): void { cpu.setTimer(period, period > 0 ? this.jitter(period) : 0); }
  /** Raise an IPI (vector 0xf2 unless given) on cpu `target` (port 0x41). */
  ipi(target: number, vector = VEC_IPI): void { const c = this.cpus[target]; if (c) c.raise(vector); }
  /** Ask run() to return Stop.Requested after the current instruction (e.g. from a port handler). */
  requestStop(cpu: Cpu): void { cpu.stop = Stop.Requested + 1; }

  private fireTimer(c: Cpu): void {
    if (this.onTimer !== null) { this.onTimer(c); return; }
    c.raise(VEC_TIMER);
    if (c.timerPeriod > 0) {
      // next deadline relative to this one, so jitter does not accumulate drift
      c.nextTimer = Math.max(c.nextTimer + c.timerPeriod + this.jitter(c.timerPeriod), c.clock() + 1);
    } else c.nextTimer = Infinity;
  }

  /**
   * Build the (cold) block at `a`: a superblock that follows fall-through of conditional branches (side
   * exits), direct calls and direct jumps, returns of calls it followed (guarded), and page ends, up to MAX_BLOCK instructions. Every page it
   * covers lists it, so a write to any of them invalidates it.
   */
  private buildBlock(pg: Page, a: number): Block {
    const probe = pg.perms & PAGE_PROBE;
    const { ops, pages } = this.collect(pg, a, probe);
    const blk = newBlock(ops, probe !== 0);
    // a block an earlier run compiled (the code cache's hint) is compiled now, alone: batched with the
    // page's warm blocks (tierUp) it would take them along at another time than the run that named it did,
    // and so compile other blocks than that run (whose sources the entry lacks)
    if (this.hotHint !== null && this.hotHint.has(a)) {
      const print = blockPrint(ops);
      if (this.hotHint.get(a) === print) { compileBlocks([blk]); this.compiledLog.push(a, print); if (STATS_ON) stats.blocksCompiled++; }
    }
    pageSet(pg.blocks ??= newPageTable(), a - pg.base, blk);
    for (const q of pages) (q.blist ??= []).push(blk);
    return blk;
  }

  /** The rest of block `lb` from its op `k` on (at a budget end's or an interrupt's mid-block address on
   *  page `pg`), as a block of its own, listed by every page its ops cover (tiered up as any block; its
   *  source is not kept across runs: compile.ts blockGen). */
  private headBlock(pg: Page, lb: Block, k: number): Block {
    const ops = lb.ops.slice(k);
    const blk = newBlock(ops, lb.probe);
    blk.head = 1;
    blk.heat = -EDGE_HEAT * this.hotAfter;
    pageSet(pg.blocks ??= newPageTable(), ops[0].ip - pg.base, blk);
    this.listOnPages(blk);
    return blk;
  }

  /** Add a block made of ops of another block to the list of every page its ops cover (a write to any of
   *  them invalidates it: a block being stepped through is checked by its own `valid`). */
  private listOnPages(blk: Block): void {
    const pages: Page[] = [];
    for (const op of blk.ops) {
      for (const x of [op.ip, op.ip + op.len - 1]) {
        const q = this.mem.page(x);
        if (q && !pages.includes(q)) { pages.push(q); (q.blist ??= []).push(blk); }
      }
    }
  }

  /** Block `blk`'s first `k` ops as a tail block (Block.head 2), kept on `blk` (the only way to it) and
   *  listed by its pages; compiled alone on its hotAfter-th use. */
  private tailBlock(blk: Block, k: number): Block {
    const tails = blk.tails ??= [];
    let t = tails[k];
    if (t === undefined || !t.valid) { t = tails[k] = newBlock(blk.ops.slice(0, k), blk.probe); t.head = 2; this.listOnPages(t); }
    if (t.fn === null && ++t.heat >= (EDGE_HEAT + 1) * this.hotAfter) { compileBlocks([t]); if (STATS_ON) stats.blocksCompiled++; }
    return t;
  }

  /** Compile a block that became hot, with the warm cold blocks of its first page (one `new Function`). */
  private tierUp(blk: Block, pg: Page | undefined): void {
    const list = [blk];
    const warm = this.hotAfter >> 2;
    if (pg && pg.blist) {
      for (const q of pg.blist) {
        if (list.length >= BATCH) break;
        if (q !== blk && q.fn === null && q.valid && q.heat > warm) list.push(q);
      }
    }
    compileBlocks(list);
    // (not head blocks: built at quantum boundaries, never by buildBlock, whose hint they would shadow)
    for (const b of list) if (b.head === 0) this.compiledLog.push(b.ips[0], blockPrint(b.ops));
    if (STATS_ON) stats.blocksCompiled += list.length;
  }

  /**
   * The ops of the superblock at `a`: it follows fall-through of conditional branches (side exits),
   * direct calls and direct jumps, returns of calls it followed (guarded), and page ends, up to MAX_BLOCK instructions. Every page it covers is
   * returned, so that a write to any of them invalidates the block.
   */
  private collect(pg: Page, a: number, probe: number): { ops: Op[]; pages: Page[] } {
    const m = this.mem;
    const ops: Op[] = [];
    const pages: Page[] = [pg];
    const rets: number[] = [];
    let p = pg, at = a;
    try {
    for (;;) {
      const n = this.decoder.decodeRun(p, at, endsBlock), run = this.decoder.run;
      // No address twice in a block: a straight run after a followed back edge falls into the block's
      // own earlier instructions (a loop entered mid-body); the block ends before them, falling through.
      // A fault finds its instruction's index (and so the count to retire) by its address (run() below).
      let again = false;
      for (let i = 0; i < n; i++) {
        const op = run[i];
        if (ops.length >= MAX_BLOCK) break;
        if (holds(ops, op.ip)) { again = true; break; }
        ops.push(op);
      }
      const last = ops[ops.length - 1];
      if (again || ops.length >= MAX_BLOCK || last !== run[n - 1] || last.bad || endsBlock(last)) break;
      let next: number;
      if (last.flow === 3 && last.cc >= 0) {
        // jcc: follow a backward branch (a loop's back edge: the likely path), else the fall-through
        next = last.target < last.ip && !holds(ops, last.target) && last.target - (last.target & 4095) === p.base ? last.target : last.next;
      }
      else if ((last.flow === 5 || last.flow === 1) && !Number.isNaN(last.target)) {        // call/jmp rel
        if (last.flow === 5) rets.push(last.next);
        next = last.target;
      }
      else if (last.flow === 0) next = last.next;                                        // page end
      else if (last.flow === 4 && last.mn === Mnemonic.Ret && last.nops === 0 && rets.length > 0) {
        // ret of a call followed in this block: go on at the call's return address, behind a guard
        // (compile.ts: a side exit when the popped address is another)
        next = rets.pop()!;
      }
      else break;
      if (holds(ops, next)) break;
      // follow only into code this privilege level may fetch, without raising anything now
      const np = m.page(next);
      if (!np) break;
      // (every operation here runs on every page followed: one only user code reached, first met after V8
      // optimized collect, threw its optimized code away)
      const pp = np.perms, fetch = (pp & PERM_X) !== 0 && (pp & PAGE_PROBE) === probe, user = (pp & PERM_U) !== 0;
      if (!fetch || (m.user && !user)) break;
      if (!pages.includes(np)) pages.push(np);
      p = np; at = next;
    }
    } finally { this.decoder.endRun(); }
    return { ops, pages };
  }

  /** The decoded/compiled block at `a` (for tests and the kprobe layer's instruction-boundary checks). */
  blockAt(cpu: Cpu, a: number): Block {
    const m = this.mem;
    m.cur = cpu; m.setUser(cpu.cpl === 3 ? 1 : 0);
    const pg = m.translate(a, 2);
    const old = pg.blocks !== null ? pageGet(pg.blocks, a - pg.base) : undefined;
    const b = old && old.valid ? old : this.buildBlock(pg, a);
    if (b.fn === null) this.tierUp(b, pg);
    return b;
  }

  /** A fault left chain(), which retired the faulting block's instructions before it (run()'s catch then
   *  does not). */
  private chainFault = false;

  /**
   * Chaining: a compiled block `blk` that ended in plain control flow (link: no system instruction, so stop,
   * halted, pending, IF, TF, the shadow, CPL and the timer are as run()'s checks left them) goes on into its
   * remembered successor, with the budget (`end`) and the timer deadline folded into one instruction
   * limit; anything else goes back round run()'s loop. Returns the last block run. (Out of run()'s body:
   * V8 compiles the run loop once in a short real-Linux run, and its size is what that compile costs.)
   */
  private chain(c: Cpu, R: Uint32Array, m: Memory, blk: Block, end: number): Block {
    let lim = c.nextTimer - c.idleNs;
    if (end < lim) lim = end;
    for (;;) {
      const b: Block = blk, a2: number = c.rip;
      let nx = b.s1ip === a2 ? b.s1 : b.s2ip === a2 ? b.s2 : null;
      if (nx === null) {
        // not a remembered successor (an indirect jump, a ret): the fetch TLB and the page's
        // blocks, as run() finds them, and remember it
        const off: number = a2 & 4095, ti: number = (a2 >> 12) & 4095;
        if (m.ft[ti] !== a2 - off) return b;
        const bl = m.fpg[ti].blocks;
        const bc = bl !== null ? bl[off >> CHUNK_SHIFT] : undefined;
        const q = bc !== undefined ? bc[off & CHUNK_MASK] : undefined;
        if (q === undefined || q.fn === null || !q.valid) return b;
        b.s2 = b.s1; b.s2ip = b.s1ip; b.s1 = q; b.s1ip = a2;
        nx = q;
      }
      if (nx.fn === null || !nx.valid || nx.probe) return b;
      let l = lim - c.instret;
      if (l > 0x3fffffff) l = 0x3fffffff;
      if (nx.n > l) return b;
      if (STATS_ON) stats.blocksRun++;
      m.smc = 0;
      blk = nx;
      try { nx.fn(c, R, m, l); }
      catch (e) { if (e === FAULT) { retireFault(c, nx); this.chainFault = true; } throw e; }
      if (!nx.link) return nx;
    }
  }

  /**
   * What run() does between two instructions when anything may be due (a stop, a halt, the budget's end,
   * the timer, an interrupt it can take): the Stop to return, else EV_NONE, or EV_INTERRUPT when an
   * interrupt was delivered (the run loop then forgets the block it was in). `cur`/`curI`: the cold block
   * being stepped through and its next op (kept in leftBlk when the run ends or an interrupt comes there).
   * (Out of run()'s body, behind one call that run() makes on its first time round: V8 optimizes run()
   * in a short real-Linux run, and code of it that had never run until then (the first stop, the first
   * interrupt) threw the optimized code away: each time ~40 ms of TurboFan compiling it again.)
   */
  private events(c: Cpu, end: number, cur: Block | null, curI: number): number {
    const m = this.mem;
    if (c.stop !== 0) { const s = c.stop - 1; c.stop = 0; return s; }
    if (c.halted) {
      if (!c.if_) return Stop.Halt;
      if (c.pending === 0) {
        // under runAll, halted CPUs idle in step with the others (runAll advances their clocks)
        if (c.nextTimer === Infinity || this.inRunAll) return Stop.Halt;
        // hlt with IF=1: idle until the timer (README "Time": halted time counts in the clock)
        const now = c.clock();
        if (c.nextTimer > now) c.idleNs += c.nextTimer - now;
        this.fireTimer(c);
      }
      c.halted = false;
    }
    if (c.instret >= end && (m.permsAt(c.rip) & PAGE_PROBE) === 0) {
      if (cur !== null) { this.leftBlk[c.id] = cur; this.leftI[c.id] = curI; }
      return Stop.Budget;
    }
    if (c.instret + c.idleNs >= c.nextTimer) this.fireTimer(c);
    if (c.pending !== 0 && c.if_ !== 0 && !c.shadow && (m.permsAt(c.rip) & PAGE_PROBE) === 0) {
      if (cur !== null) { this.leftBlk[c.id] = cur; this.leftI[c.id] = curI; }
      const v = c.highestPending();
      c.pendingVec[v] = 0; c.pending--;
      if (STATS_ON) stats.interrupts++;
      // a failed delivery changes nothing: the interrupt stays pending (a platform that maps pages on
      // demand maps the IDT or stack page and goes on)
      if (!c.interrupt(v)) { c.raise(v); return Stop.DoubleFault; }
      return EV_INTERRUPT;
    }
    return EV_NONE;
  }

  /**
   * Run one CPU for at most `budget` guest instructions (cpu.instret; code on PAGE_PROBE pages neither uses
   * the budget nor ends a run inside it) or until it stops. Stops are precise:
   * a faulting instruction has no effect and RIP points at it (cpu.trapVector/errorCode/faultAddr, CR2 for
   * #PF); after int3 RIP is past it; after a TF single-step RIP is at the next instruction (Stop.Debug);
   * HostCall leaves RIP past the vmcall with its address in cpu.faultAddr.
   */
  run(c: Cpu, budget: number): Stop {
    const m = this.mem;
    m.cur = c; m.setUser(c.cpl === 3 ? 1 : 0);
    const R = c.regs;
    // The budget counts the guest's own instructions only: code on PAGE_PROBE pages (kprobe slots,
    // detours, trampolines) neither uses it nor ends it, so probes never move a quantum boundary.
    const end = c.instret + budget;
    c.stopText = '';
    if (this.onEnter !== null) this.onEnter(c);
    if (c.mode !== 0) {
      const s = this.onLegacy === null ? Stop.InvalidOpcode : this.onLegacy(c, budget);
      if (s !== null) return s;
    }
    let prev: Block | null = null;
    // debug/test switches, read once per run (they are only changed between runs)
    const blocksOk = !this.interpretOnly && this.execIndex === null;
    const entered = this.entered;
    // chaining (below) skips the per-block checks, so it is off while anything observes every block
    const chainOk = blocksOk && entered === null;
    // stepping through cold code several instructions a call (stepRun) is off while anything observes every one
    const stepOk = entered === null && this.execIndex === null;
    const hotAfter = this.hotAfter;
    // the cold block being stepped through one instruction at a time, and the index of its next op
    let cur: Block | null = null, curI = 0;
    // the first time round, events() looks at everything (so its call site has V8's type feedback from the
    // first run on: see events)
    let ev = true;
    for (;;) {
      if (ev || c.stop !== 0 || c.halted || c.instret >= end || c.instret + c.idleNs >= c.nextTimer || c.pending * c.if_ !== 0) {
        ev = false;
        const r = this.events(c, end, cur, curI);
        if (r >= 0) return r;
        if (r === EV_INTERRUPT) { cur = null; prev = null; }
      }
      const done = c.instret;
      // find the block at RIP: the cold block being stepped through, the previous block's successor
      // links, else fetch TLB and the page's array
      const a: number = c.rip;
      let blk: Block | undefined;
      if (cur !== null && cur.ips[curI] === a && cur.valid) blk = cur;
      else {
        curI = 0;
        if (prev !== null && prev.s1ip === a && prev.s1!.valid) {
          blk = prev.s1!;
          // a cold successor heats up however it is found (else a block only ever reached through a link
          // would be stepped through one instruction at a time for good)
          if (blk.fn === null && blocksOk && ++blk.heat >= hotAfter) this.tierUp(blk, m.page(a));
        } else if (prev !== null && prev.s2ip === a && prev.s2!.valid) {
          blk = prev.s2!;
          if (blk.fn === null && blocksOk && ++blk.heat >= hotAfter) this.tierUp(blk, m.page(a));
        } else {
          const off: number = a & 4095, ti: number = (a >> 12) & 4095;
          let pg: Page;
          if (m.ft[ti] === a - off) pg = m.fpg[ti];
          else {
            if (STATS_ON) stats.tlbFetchMiss++;
            try { pg = m.translate(a, 2); }
            catch (e) { if (e !== FAULT) throw e; if (STATS_ON) stats.faults++; return vectorStop(c.trapVector); }
          }
          // (pageGet, written out: the run loop's inlining is capped)
          const bc = pg.blocks !== null ? pg.blocks[off >> CHUNK_SHIFT] : undefined;
          blk = bc !== undefined ? bc[off & CHUNK_MASK] : undefined;
          if (blk === undefined || !blk.valid) {
            // where a budget end or an interrupt left a block mid-way, the rest of that block (a new
            // superblock from here would overlap it, up to MAX_BLOCK instructions, stepped until hot)
            const lb: Block | null = this.leftBlk[c.id];
            blk = lb !== null && lb.valid && lb.ips[this.leftI[c.id]] === a ? this.headBlock(pg, lb, this.leftI[c.id]) : this.buildBlock(pg, a);
          }
          if (blk.fn === null && blocksOk && ++blk.heat >= hotAfter) this.tierUp(blk, pg);
          if (prev !== null && prev.link) { prev.s2 = prev.s1; prev.s2ip = prev.s1ip; prev.s1 = blk; prev.s1ip = a; }
        }
      }
      let limit = blk.probe ? PROBE_LIMIT : end - done;
      if (!blk.probe) { const t = c.nextTimer - (c.instret + c.idleNs); if (t < limit) limit = t; }
      // keep the allowance a small integer: a huge budget would make it a boxed double on every call
      if (limit > 0x3fffffff) limit = 0x3fffffff;
      // a budget or timer deadline inside a compiled block: its first `limit` ops run as a block of their
      // own (a tail block, compiled once it is hot), and the next run goes on in the block's rest (leftBlk)
      if (blk.fn !== null && curI === 0 && blk.n > limit && limit > 1 && c.tf === 0 && !c.shadow && blocksOk) {
        this.leftBlk[c.id] = blk; this.leftI[c.id] = limit;
        blk = this.tailBlock(blk, limit);
      }
      m.smc = 0;
      const fn = blk.fn;
      if (fn !== null && curI === 0 && blk.n <= limit && c.tf === 0 && !c.shadow && blocksOk) {
        if (STATS_ON) stats.blocksRun++;
        if (entered !== null) entered.add(blk);
        prev = blk;
        cur = null;
        try {
          fn(c, R, m, limit);
          if (chainOk && blk.link && !blk.probe) prev = this.chain(c, R, m, blk, end);
        }
        catch (e) {
          if (e !== FAULT) throw e;
          // (a fault in a block chain() went on into was retired there)
          if (this.chainFault) this.chainFault = false; else retireFault(c, blk);
          if (STATS_ON) stats.faults++;
          return vectorStop(c.trapVector);
        }
        continue;
      }
      // interpreter path: one instruction at a time (cold code, TF single-step, interrupt shadow, budget/timer
      // tail); the next one is looked for in the same block first
      prev = null;
      if (stepOk && c.tf === 0 && !c.shadow) {
        // cold code: this op and the block's next ones while nothing the checks above look at changes
        let i: number;
        try { i = stepRun(c, R, m, blk, curI, end); }
        catch (e) { if (e !== FAULT) throw e; if (STATS_ON) stats.faults++; return vectorStop(c.trapVector); }
        if (i < blk.n) { cur = blk; curI = i; } else { cur = null; curI = 0; }
        continue;
      }
      const op = blk.ops[curI];
      if (curI + 1 < blk.n) { cur = blk; curI++; } else { cur = null; curI = 0; }
      if (op.fn === null) op.fn = compileOp(op, blk.probe);
      const tf = c.tf, sh = c.shadow;
      if (STATS_ON) stats.singleSteps++;
      if (entered !== null) entered.add(op);
      if (this.execIndex !== null) {
        const i = this.execIndex.get(op.ip);
        if (i !== undefined) this.execCounts[i]++;
      }
      try { op.fn(c, R, m, 1); }
      catch (e) { if (e !== FAULT) throw e; if (STATS_ON) stats.faults++; return vectorStop(c.trapVector); }
      if (sh) c.shadow = false;
      if (tf !== 0 && c.stop === 0) {
        // SDM 17.3.1.4: single-step trap after the instruction; RIP is the next instruction
        c.trapVector = VEC_DB; c.errorCode = 0; c.faultAddr = op.ip;
        return c.halted ? (c.halted = false, Stop.Debug) : Stop.Debug;
      }
    }
  }

  /**
   * run() with every vmcall taken as a Stop.HostCall instead of in place: for nested guest calls
   * (callFunction, calls from probe handlers) that return through a vmcall stub of their own.
   */
  runStoppingOnHostCalls(c: Cpu, budget: number): Stop {
    const inPlace = this.onHostCall;
    this.onHostCall = null;
    try { return this.run(c, budget); } finally { this.onHostCall = inPlace; }
  }

  /**
   * Deterministic multi-CPU interleaving: round-robin quanta of `quantum` instructions per online CPU.
   * Halted CPUs (hlt with IF=1) idle: their clock advances by one quantum per round (up to their timer),
   * and when every online CPU is halted, time jumps to the earliest timer deadline.
   * Returns the CPU that stopped for a reason other than Budget, or null when `budget` is used up.
   */
  runAll(budget: number, quantum = 10000): { cpu: Cpu; stop: Stop } | null {
    this.inRunAll = true;
    try { return this.runAllInner(budget, quantum); } finally { this.inRunAll = false; }
  }

  /**
   * Counts, from now on, how often the instruction at each of `addrs` starts executing (an independent
   * oracle for probe hit counts: execution is forced through the one-instruction path while counting).
   * Returns the live counts, index-aligned with `addrs`; stopCounting() ends it.
   */
  countExecutions(addrs: readonly number[]): Float64Array {
    this.execIndex = new Map(addrs.map((a, i) => [a, i]));
    this.execCounts = new Float64Array(addrs.length);
    return this.execCounts;
  }
  stopCounting(): void { this.execIndex = null; }
  /** Is countExecutions counting (an observer of every instruction, boot's too)? */
  get counting(): boolean { return this.execIndex !== null; }
  /** The addresses countExecutions counts, or null (boot snapshots: counts of code boot never ran
   *  are the same from a restored boot). */
  get countedAddresses(): Iterable<number> | null { return this.execIndex === null ? null : this.execIndex.keys(); }

  private runAllInner(budget: number, quantum: number): { cpu: Cpu; stop: Stop } | null {
    let used = 0;
    for (;;) {
      // Resume the round where the last call left it: neither a stop handed to the caller nor the end
      // of the caller's budget may restart the round-robin, or the interleaving would depend on them.
      let ran = this.rrRan;
      let contNext = this.rrCont;
      this.rrCont = false;
      for (let k = this.rrNext; k < this.cpus.length; k++) {
        const c = this.cpus[k];
        const cont = contNext;
        contNext = false;
        if (!c.online) continue;
        if (used >= budget) { this.rrNext = k; this.rrRan = ran; this.rrCont = cont; return null; }
        if (!cont && this.rrLeft <= 0 && c.halted && c.if_ && c.pending === 0) {
          // idle for a quantum, or until its timer fires
          const now = c.clock();
          if (c.nextTimer - now <= quantum) { c.idleNs += Math.max(0, c.nextTimer - now); this.fireTimer(c); }
          else continue;
        }
        const q = cont ? this.rrLeft : this.rrLeft > 0 ? this.rrLeft : quantum;
        this.rrLeft = 0;
        const before = c.instret;
        const cap = Math.min(q, budget - used);
        // a continued quantum that is used up ends here, as the in-place path below would end it
        let s = cont && cap <= 0 && (this.mem.permsAt(c.rip) & PAGE_PROBE) === 0 ? Stop.Budget : this.run(c, Math.max(cap, 0));
        // Stops the owner handles in place (kprobe traps, host calls, exceptions it delivers) keep this
        // CPU on its quantum; only a stop it declines goes back to the caller.
        while (s !== Stop.Budget && !(s === Stop.Halt && c.halted && c.if_) && this.onTrap !== null && this.onTrap(c, s)) {
          const left = cap - (c.instret - before);
          if (left <= 0 && (this.mem.permsAt(c.rip) & PAGE_PROBE) === 0) { s = Stop.Budget; break; }
          s = this.run(c, Math.max(left, 0));
        }
        const did = c.instret - before;
        used += did;
        if (did > 0) ran = true;
        if (s === Stop.Budget) {
          if (did < q) {
            // cut short by the caller's budget, not the quantum: this CPU goes on first next time
            this.rrNext = k; this.rrLeft = q - did; this.rrRan = ran;
            return null;
          }
          continue;
        }
        if (s === Stop.Halt && c.halted && c.if_) continue; // idle, waits for an interrupt
        // hand the stop to the caller; the next call goes on with this CPU's remaining quantum, exactly as
        // if the stop had been handled in place
        this.rrNext = k;
        this.rrLeft = q - did;
        this.rrCont = true;
        this.rrRan = ran;
        return { cpu: c, stop: s };
      }
      this.rrNext = 0; this.rrRan = false;
      // account idle time of halted CPUs for the round just run
      let earliest = Infinity;
      for (const c of this.cpus) {
        if (!c.online || !c.halted || !c.if_ || c.pending !== 0) continue;
        if (ran) c.idleNs += quantum;
        earliest = Math.min(earliest, c.nextTimer - c.clock());
      }
      if (!ran) {
        const waiting = this.cpus.filter((c) => c.online && c.halted && c.if_ && c.pending === 0);
        if (waiting.length === 0) {
          const stuck = this.cpus.find((c) => c.online);
          if (!stuck) return null;
          continue;
        }
        if (earliest === Infinity) return { cpu: waiting[0], stop: Stop.Halt };
        const d = Math.max(0, earliest);
        for (const c of waiting) c.idleNs += d;
      }
      if (used >= budget) return null;
    }
  }

  /** Resident-memory accounting for the emulator's own structures. */
  get mappedBytes(): number { return this.mem.pageCount * PAGE_SIZE; }
}

