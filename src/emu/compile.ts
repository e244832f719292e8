// The block compiler: concatenates the semantic snippets (semantics.ts) of a straight-line run of
// instructions into one JS function. The same path compiles single instructions for the interpreter
// (single-step, budget and timer tails). Flags are stored only when a later instruction of the block
// might read them, and every instruction that can fault first commits RIP, so state stays precise.
import { Mnemonic, OpKind } from './iced.js';
import { ARITH } from './flags.js';
import { Gen, cc, formOf, producerOf, unsupportedReason } from './semantics.js';
import { H } from './runtime.js';
import type { Op } from './decode.js';
import { hex } from './addr.js';

export type BlockFn = (c: any, R: Uint32Array, m: any, L: number) => void;

export interface Block {
  /** L: instructions the block may retire in this call (>= n); a self-looping block iterates while it can.
   *  null while the block is cold: the run loop steps through its ops one at a time (tiered execution). */
  fn: BlockFn | null;
  /** times the run loop entered the block while it was cold */
  heat: number;
  n: number;
  /** RIP of each instruction, to count completed instructions after a fault */
  ips: Float64Array;
  probe: boolean;
  valid: boolean;
  ops: Op[];
  /** may the run loop remember this block's successors? (not after system instructions that can change
   *  privilege level or RIP in ways a cached link would bypass) */
  link: boolean;
  /** the two most recent successor blocks and their addresses (the run loop's inline cache) */
  s1: Block | null; s1ip: number; s2: Block | null; s2ip: number;
  /** instructions committed to the counters before the last (system) instruction runs, so that it sees
   *  an exact clock (rdtsc, port writes that arm the timer); the run loop's fault path accounts for it */
  pre: number;
}

/** Can executing this op raise a fault (so RIP must be committed before it)? */
export function mayFault(op: Op): boolean {
  if (op.bad || op.flow !== 0 || op.stackInc !== 0) return true;
  if (op.mn === Mnemonic.Div || op.mn === Mnemonic.Idiv) return true;
  const f = formOf(op);
  if (!f || f.ends) return true;
  if (op.mn === Mnemonic.Lea || op.mn === Mnemonic.Nop) return false;
  for (let i = 0; i < op.nops; i++) if (op.kind[i] >= OpKind.MemorySegSI) return true;
  if (op.mn === Mnemonic.Mov && op.nops === 2 && (op.rg[0] < 0 && op.kind[0] === OpKind.Register || op.rg[1] < 0 && op.kind[1] === OpKind.Register)) return true;
  return false;
}
/** Memory-operand readers that never write it (no self-modifying-code check needed after them). */
const READS_ONLY = new Set<number>([Mnemonic.Cmp, Mnemonic.Test, Mnemonic.Bt, Mnemonic.Mul, Mnemonic.Imul, Mnemonic.Div,
  Mnemonic.Idiv, Mnemonic.Jmp, Mnemonic.Nop, Mnemonic.Prefetchnta, Mnemonic.Prefetcht0, Mnemonic.Prefetcht1,
  Mnemonic.Prefetcht2, Mnemonic.Prefetchw, Mnemonic.Clflush, Mnemonic.Clflushopt, Mnemonic.Lea, Mnemonic.Lodsb,
  Mnemonic.Lodsw, Mnemonic.Lodsd, Mnemonic.Lodsq, Mnemonic.Cmpsb, Mnemonic.Cmpsw, Mnemonic.Cmpsd, Mnemonic.Cmpsq,
  Mnemonic.Scasb, Mnemonic.Scasw, Mnemonic.Scasd, Mnemonic.Scasq]);
/** Can this op store to memory (so code it patched must be noticed before the next instruction)? */
export function mayWrite(op: Op): boolean {
  if (op.stackInc < 0 || op.bad) return true;
  if (op.nops === 0) return false; // system instructions end their block anyway
  if (READS_ONLY.has(op.mn)) return false;
  for (let i = 0; i < op.nops; i++) if (op.kind[i] === OpKind.Memory || op.kind[i] >= OpKind.MemorySegDI) return true;
  return op.mn === Mnemonic.Pop || op.mn === Mnemonic.Enter;
}

/** Does this op end a block (after it the run loop must look at the CPU again)? */
export function endsBlock(op: Op): boolean {
  if (op.bad) return true;
  const f = formOf(op);
  return !f || !!f.ends || unsupportedReason(op) !== '';
}

export let compiledBlocks = 0;
const FACTORIES = new Map<string, (h: unknown, k: unknown[][]) => BlockFn[]>();
const MAX_FACTORIES = 50000;

/** Compile one block (tests). */
export function compile(ops: Op[], probe: boolean): Block { return compileMany([ops], probe)[0]; }

/** A cold block: decoded, not compiled (the run loop steps through its ops until it is hot). */
export function newBlock(ops: Op[], probe: boolean): Block {
  const n = ops.length, lastOp = ops[n - 1];
  const ips = new Float64Array(n);
  for (let i = 0; i < n; i++) ips[i] = ops[i].ip;
  const lf = formOf(lastOp);
  const link = !lastOp.bad && !!lf && !lf.ends && unsupportedReason(lastOp) === '';
  return { fn: null, heat: 0, n, ips, probe, valid: true, ops, link, s1: null, s1ip: NaN, s2: null, s2ip: NaN, pre: 0 };
}

export function compileMany(list: Op[][], probe: boolean): Block[] {
  const blocks = list.map((ops) => newBlock(ops, probe));
  compileBlocks(blocks);
  return blocks;
}

/**
 * Compile blocks with one `new Function`: V8's fixed cost per Function dominates for cold code,
 * and inner functions are only pre-parsed until their first call, so blocks that never run cost little.
 */
export function compileBlocks(blocks: Block[]): void {
  const gens = blocks.map((b) => generate(b.ops, b.probe));
  const src = 'return [' + gens.map((x, i) => `function ${x.name}(c,R,m,L){const K=KK[${i}];\n${x.body}\n}`).join(',\n') + '];';
  let fns: BlockFn[];
  try {
    // Machines in one process (tests, benchmarks, repeated runs) compile the same code again: reuse the
    // factory for identical source (the constants are bound per call).
    let factory = FACTORIES.get(src);
    if (factory === undefined) {
      factory = new Function('H', 'KK', src) as (h: unknown, k: unknown[][]) => BlockFn[];
      if (FACTORIES.size >= MAX_FACTORIES) FACTORIES.clear();
      FACTORIES.set(src, factory);
    }
    fns = factory(H, gens.map((x) => x.consts));
  } catch (e) {
    throw new Error(`block compiler produced invalid JS at ${hex(blocks[0].ops[0].ip)}: ${(e as Error).message}\n${src}`);
  }
  compiledBlocks += blocks.length;
  blocks.forEach((b, k) => { b.fn = fns[k]; b.pre = gens[k].pre; });
}

// The one-instruction path (cold code, single-steps, budget and timer tails) compiles an instruction's
// snippet with its numbers lifted into an array: instructions of one shape (say, every `mov r64,[rbp+d]`)
// share one function and its bytecode, so cold code costs a closure, not a compilation.
const OP_SHAPES = new Map<string, (h: unknown, k: unknown[], n: number[]) => BlockFn>();
const LITERAL = /('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?<![\w$.])(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![\w$])/g;
export let opShapes = 0;

/** The single-instruction function of `op` (its counter: probeInstret on probe pages). */
export function compileOp(op: Op, probe: boolean): BlockFn {
  const g = generate([op], probe);
  const nums: number[] = [];
  const shape = g.body.replace(LITERAL, (m: string, str: string | undefined) => {
    if (str !== undefined) return str;
    nums.push(Number(m));
    return `N[${nums.length - 1}]`;
  });
  let factory = OP_SHAPES.get(shape);
  if (factory === undefined) {
    try {
      factory = new Function('H', 'K', 'N', `return function(c,R,m,L){\n${shape}\n};`) as (h: unknown, k: unknown[], n: number[]) => BlockFn;
    } catch (e) {
      throw new Error(`block compiler produced invalid JS at ${hex(op.ip)}: ${(e as Error).message}\n${shape}`);
    }
    if (OP_SHAPES.size >= MAX_FACTORIES) OP_SHAPES.clear();
    OP_SHAPES.set(shape, factory);
    opShapes++;
  }
  return factory(H, g.consts, nums);
}

function generate(ops: Op[], probe: boolean): { name: string; body: string; consts: unknown[]; pre: number } {
  const consts: unknown[] = [];
  const g = new Gen(consts);
  const n = ops.length;
  // flag liveness, backwards from the block end where everything is live
  const storeFlags: boolean[] = new Array(n);
  let live = ARITH;
  for (let i = n - 1; i >= 0; i--) {
    const op = ops[i], f = formOf(op);
    storeFlags[i] = (op.fwrite & live) !== 0;
    // shifts/rotates write flags only for a non-zero masked count: known when the count is an immediate
    const cnt = op.nops >= 2 && op.kind[op.nops - 1] >= OpKind.Immediate8 && op.kind[op.nops - 1] <= OpKind.Immediate32to64
      ? op.imlo[op.nops - 1] & (op.osz[0] === 64 ? 63 : 31) : -1;
    const w = f && (!f.condFlags || cnt > 0) ? op.fwrite : 0;
    const r = !f || f.readsAll || f.ends ? ARITH : op.fread;
    live = (live & ~w) | r;
    if (mayFault(op)) live = ARITH;
  }
  const body: string[] = [];
  const counter = probe ? 'c.probeInstret' : 'c.instret';
  let endsWithRip = false;
  // A block whose last instruction branches back to its first is compiled as a loop that keeps going
  // while its instruction allowance L lasts (budget and timer deadlines are folded into L by the caller).
  const lastOp = ops[n - 1];
  const selfLoop = n > 1 && lastOp.target === ops[0].ip && !lastOp.bad && (lastOp.mn === Mnemonic.Jmp || (lastOp.cc >= 0 && lastOp.flow === 3))
    && unsupportedReason(lastOp) === '';
  // a conditional side exit back to the start (a loop whose exit path was followed) also loops in place
  const innerLoop = ops.some((op, i) => i < n - 1 && op.flow === 3 && op.cc >= 0 && op.target === ops[0].ip);
  if (selfLoop || innerLoop) body.push('for(;;){');
  let known: { kind: number; sz: number } | null = null;
  let pre = 0;
  for (let i = 0; i < n; i++) {
    const op = ops[i];
    const last = i === n - 1;
    g.out = [];
    g.reset(op, storeFlags[i]);
    g.known = known;
    if (last && selfLoop) {
      const cond = lastOp.mn === Mnemonic.Jmp ? 'true' : cc(g);
      body.push(`if(${cond}){${counter}+=${n};L-=${n};if(L<${n}||m.smc){c.rip=${ops[0].ip};return;}continue;}`);
      body.push(`c.rip=${op.next};${counter}+=${n};return;}`);
      break;
    }
    const mf = mayFault(op);
    if (mf && i > 0) g.emit(`c.rip=${op.ip};`);
    const f = formOf(op);
    const why = op.bad === 1 ? '' : op.bad === 2 ? 'invalid instruction' : unsupportedReason(op);
    if (last && i > 0 && f && f.ends && !why && !op.bad) { g.emit(`${counter}+=${i};`); pre = i; }
    if (op.bad === 1) {
      // the instruction runs into a page we may not fetch: the fetch faults there (precise #PF)
      g.emit(`m.translate(${op.faultAddr},2);H.unimpl(c,${g.k(op)},'fetch');`);
    } else if (why || !f) {
      g.emit(`H.unimpl(c,${g.k(op)},${JSON.stringify(why || 'not implemented')});`);
    } else if (!last && op.flow === 3 && op.cc >= 0 && op.target === ops[0].ip) {
      // back to the block start: iterate while the allowance lasts
      g.emit(`if(${cc(g)}){${counter}+=${i + 1};L-=${i + 1};if(L<${n}||m.smc){c.rip=${op.target};return;}continue;}`);
    } else if (!last && op.flow === 3 && op.cc >= 0 && ops[i + 1].ip === op.target && op.target !== op.next) {
      // the superblock continues on the taken path (a loop back edge): leave when not taken
      g.emit(`if(!(${cc(g)})){c.rip=${op.next};${counter}+=${i + 1};return;}`);
    } else if (!last && op.flow === 3 && op.cc >= 0) {
      // conditional branch inside a superblock: a side exit when taken, fall through otherwise
      g.emit(`if(${cc(g)}){c.rip=${op.target};${counter}+=${i + 1};return;}`);
    } else {
      try { f.emit(g); }
      catch (e) { g.out = [`H.unimpl(c,${g.k(op)},${JSON.stringify('cannot generate: ' + (e as Error).message)});`]; }
    }
    body.push('{' + g.out.join('') + '}');
    // track the last flag producer for fused conditions (only if its flags were really stored)
    if (op.fwrite !== 0) { const p = producerOf(op); known = p && storeFlags[i] && !op.bad && !why ? p : null; }
    if (!last && mf && mayWrite(op)) body.push(`if(m.smc){c.rip=${ops[i + 1].ip};${counter}+=${i + 1};return;}`);
    if (last) endsWithRip = op.flow !== 0 || !!(f && f.ends) || op.bad !== 0 || !!why;
  }
  if (!selfLoop) {
    if (!endsWithRip) body.push(`c.rip=${ops[n - 1].next};`);
    body.push(`${counter}+=${n - pre};`);
    if (innerLoop) body.push('return;}');
  }
  return { name: 'b_' + hex(ops[0].ip).slice(2), body: body.join('\n'), consts, pre };
}

/** The generated source of a block (for debugging and tests). */
export function blockSource(b: Block): string { return String(b.fn); }
