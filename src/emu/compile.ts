// The block compiler: concatenates the semantic snippets (semantics.ts) of a straight-line run of
// instructions into one JS function. The same path compiles single instructions for the interpreter
// (single-step, budget and timer tails). Flags are stored only when a later instruction of the block
// might read them. In compiled blocks guest registers and lazy flags live in locals and precise state
// (RIP, registers, flags) is rebuilt by the block's catch when an instruction faults (Locals below);
// single-instruction functions commit RIP before every instruction that can fault.
import { Mnemonic, OpKind } from './iced.js';
import { ARITH } from './flags.js';
import { Gen, cc, formOf, producerOf, unsupportedReason } from './semantics.js';
import { H } from './runtime.js';
import { shapeLog, type Block, type BlockFn, type Op } from './decode.js';
import { hex0x } from '../base/addr.js';
import { writesMemOperand } from './facts.js';
import { jsFnOf, watch } from './wasm.js';

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
/** Can this op store to memory (so code it patched must be noticed before the next instruction)? From
 *  iced's operand directions for its Code (facts.ts): a memory operand that is only read (cmp, mov
 *  reg,[mem], xor al,[rsi-1], cmps) is no store. */
export function mayWrite(op: Op): boolean {
  if (op.stackInc < 0 || op.bad) return true;
  if (op.nops === 0) return false; // system instructions end their block anyway
  return writesMemOperand(op.kind, op.facts) || op.mn === Mnemonic.Enter;
}

/** Does this op end a block (after it the run loop must look at the CPU again)? */
export function endsBlock(op: Op): boolean {
  if (op.bad) return true;
  if (op.ends < 0) { const f = formOf(op); op.ends = !f || !!f.ends || unsupportedReason(op) !== '' ? 1 : 0; }
  return op.ends === 1;
}

export let compiledBlocks = 0;
const FACTORIES = new Map<string, (h: unknown, k: unknown[][]) => BlockFn[]>();
/** A block's function made ahead of time from its body (kernel/code-cache.ts: from V8's code cache). */
export type BlockFactory = (h: unknown, k: unknown[]) => BlockFn;
export const prebuiltBlocks = new Map<string, BlockFactory>();
const MAX_FACTORIES = 50000;

/** Compile one block (tests). */
export function compile(ops: Op[], probe: boolean): Block { return compileMany([ops], probe)[0]; }

/** A cold block: decoded, not compiled (the run loop steps through its ops until it is hot). */
export function newBlock(ops: Op[], probe: boolean): Block {
  const n = ops.length, lastOp = ops[n - 1];
  const ips = new Float64Array(n);
  for (let i = 0; i < n; i++) ips[i] = ops[i].ip;
  const link = !endsBlock(lastOp);
  return { fn: null, heat: 0, n, ips, probe, valid: true, ops, link, s1: null, s1ip: NaN, s2: null, s2ip: NaN, head: 0, tails: null, pre: 0 };
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
  let gens = blocks.map(blockGen);
  if (prebuiltBlocks.size > 0) {
    // blocks whose function was made ahead (by body) take it; the others are compiled below
    const rest: Block[] = [], restGens: typeof gens = [];
    gens.forEach((g, k) => {
      const f = prebuiltBlocks.get(g.body);
      if (f === undefined) { rest.push(blocks[k]); restGens.push(g); return; }
      blocks[k].fn = watch(blocks[k], f(H, g.consts), flagStores); blocks[k].pre = g.pre; compiledBlocks++;
    });
    if (rest.length === 0) return;
    blocks = rest; gens = restGens;
  }
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
    throw new Error(`block compiler produced invalid JS at ${hex0x(blocks[0].ops[0].ip)}: ${(e as Error).message}\n${src}`);
  }
  compiledBlocks += blocks.length;
  blocks.forEach((b, k) => { b.fn = watch(b, fns[k], flagStores); b.pre = gens[k].pre; });
}

/**
 * Generated block sources by what they were generated from (blockKey: each op's address and bytes, and
 * the probe bit), kept across runs with the decoded instructions (kernel/code-cache.ts): the source is a
 * function of exactly that, so a block met again is not generated again. A source's constants are the
 * block's ops (by index) and its array of instruction addresses (-1).
 */
export type BlockSource = [name: string, body: string, consts: number[], pre: number];
export const blockSources = { map: new Map<string, BlockSource>(), learned: 0 };

/** Each byte's two hex digits (blockKey: a warm real-Linux run keys ~230 blocks of ~25 ops each). */
const HEX2 = Array.from({ length: 256 }, (_, i) => (i < 16 ? '0' : '') + i.toString(16));

function blockKey(b: Block): string {
  let k = b.probe ? 'p' : 'n';
  for (const o of b.ops) { k += ';' + o.ip + ':'; const x = o.bytes; for (let i = 0; i < x.length; i++) k += HEX2[x[i]]; }
  return k;
}

function blockGen(b: Block): { name: string; body: string; consts: unknown[]; pre: number } {
  // a head or tail block (decode.ts Block.head) depends on where earlier runs stood when their budgets
  // ended: generated in each run, never kept (a run from the cache would learn new sources)
  if (b.head !== 0) return generate(b.ops, b.probe, true);
  const key = blockKey(b);
  const known = blockSources.map.get(key);
  if (known !== undefined) {
    const ips = Float64Array.from(b.ops, (o) => o.ip);
    return { name: known[0], body: known[1], consts: known[2].map((i) => (i < 0 ? ips : b.ops[i])), pre: known[3] };
  }
  const g = generate(b.ops, b.probe, true);
  const desc: number[] = [];
  for (const x of g.consts) {
    const i = x instanceof Float64Array ? -1 : b.ops.indexOf(x as Op);
    if (i < 0 && !(x instanceof Float64Array && x.length === b.n && x.every((v, j) => v === b.ops[j].ip))) return g;
    desc.push(i);
  }
  if (blockSources.map.size < MAX_FACTORIES) { blockSources.map.set(key, [g.name, g.body, desc, g.pre]); blockSources.learned++; }
  return g;
}

// The one-instruction path (cold code, single-steps, budget and timer tails) compiles an instruction's
// snippet with its numbers lifted into an array: instructions of one shape (say, every `mov r64,[rbp+d]`)
// share one function and its bytecode, so cold code costs a closure, not a compilation.
/** Single-instruction functions by shape (kernel/code-cache.ts adds the ones made ahead of time). */
export type OpFactory = (h: unknown, k: unknown[], n: number[]) => BlockFn;
export const OP_SHAPES = new Map<string, OpFactory>();
const LITERAL = /('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?<![\w$.])(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![\w$])/g;
export let opShapes = 0;

/** The single-instruction function of `op` (its counter: probeInstret on probe pages). */
export function compileOp(op: Op, probe: boolean): BlockFn {
  // the shape an earlier run made for this op (decode.ts OpShape), else generated now and kept with it
  const known = op.shape;
  let shape: string, nums: number[], consts: unknown[];
  if (known !== null && known[0] === (probe ? 1 : 0)) {
    shape = known[1]; nums = known[2]; consts = new Array(known[3]).fill(op);
  } else {
    const g = generate([op], probe);
    const ns: number[] = [];
    shape = g.body.replace(LITERAL, (m: string, str: string | undefined) => {
      if (str !== undefined) return str;
      ns.push(Number(m));
      return `N[${ns.length - 1}]`;
    });
    nums = ns; consts = g.consts;
    if (consts.every((x) => x === op)) { op.shape = [probe ? 1 : 0, shape, nums, consts.length]; shapeLog.learned++; }
  }
  let factory = OP_SHAPES.get(shape);
  if (factory === undefined) {
    try {
      factory = new Function('H', 'K', 'N', `return function(c,R,m,L){\n${shape}\n};`) as (h: unknown, k: unknown[], n: number[]) => BlockFn;
    } catch (e) {
      throw new Error(`block compiler produced invalid JS at ${hex0x(op.ip)}: ${(e as Error).message}\n${shape}`);
    }
    if (OP_SHAPES.size >= MAX_FACTORIES) OP_SHAPES.clear();
    OP_SHAPES.set(shape, factory);
    opShapes++;
  }
  return factory(H, consts, nums);
}

/** Which ops of a block store their flags: flag liveness, backwards from the block end where everything
 *  is live, and at every op that can fault (both tiers use it: wasm.ts too). */
export function flagStores(ops: Op[]): boolean[] {
  const n = ops.length;
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
  return storeFlags;
}

/** loc: keep guest registers and flags in locals (compiled blocks; see Locals). */
function generate(ops: Op[], probe: boolean, loc = false): { name: string; body: string; consts: unknown[]; pre: number } {
  const consts: unknown[] = [];
  const g = new Gen(consts);
  g.inline = loc;
  const n = ops.length;
  const storeFlags = flagStores(ops);
  const body: string[] = [];
  const counter = probe ? 'c.probeInstret' : 'c.instret';
  // In a compiled block (loc), guest registers and lazy flags live in locals (Locals below); every
  // exit breaks out of the labelled body to the one place that stores them back.
  const X = loc ? 'break out;' : 'return;';
  const lc = loc ? new Locals() : null;
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
      const t = `if(${cond}){${counter}+=${n};L-=${n};if(L<${n}||m.smc){c.rip=${ops[0].ip};${X}}continue;}`;
      body.push(lc ? lc.instruction(t, i, op.ip, false) : t);
      body.push(`c.rip=${op.next};${counter}+=${n};${X}}`);
      break;
    }
    const mf = mayFault(op);
    // Where a fault leaves RIP: set before each instruction that can fault, except the first one, whose
    // address is what the block was entered with; in a block that loops back to its start the first
    // instruction runs again after others, so it sets it too (else a fault there would report the last
    // faulting instruction of the iteration before, and count its instructions again).
    const markFirst = selfLoop || innerLoop;
    if (mf && (i > 0 || markFirst) && !lc) g.emit(`c.rip=${op.ip};`);
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
      g.emit(`if(${cc(g)}){${counter}+=${i + 1};L-=${i + 1};if(L<${n}||m.smc){c.rip=${op.target};${X}}continue;}`);
    } else if (!last && op.flow === 3 && op.cc >= 0 && ops[i + 1].ip === op.target && op.target !== op.next) {
      // the superblock continues on the taken path (a loop back edge): leave when not taken
      g.emit(`if(!(${cc(g)})){c.rip=${op.next};${counter}+=${i + 1};${X}}`);
    } else if (!last && op.flow === 3 && op.cc >= 0) {
      // conditional branch inside a superblock: a side exit when taken, fall through otherwise
      g.emit(`if(${cc(g)}){c.rip=${op.target};${counter}+=${i + 1};${X}}`);
    } else {
      try { f.emit(g); }
      catch (e) { g.out = [`H.unimpl(c,${g.k(op)},${JSON.stringify('cannot generate: ' + (e as Error).message)});`]; }
    }
    body.push(lc ? lc.instruction('{' + g.out.join('') + '}', i, op.ip, mf, markFirst) : '{' + g.out.join('') + '}');
    // track the last flag producer for fused conditions (only if its flags were really stored)
    if (op.fwrite !== 0) { const p = producerOf(op); known = p && storeFlags[i] && !op.bad && !why ? p : null; }
    if (!last && mf && mayWrite(op)) body.push(`if(m.smc){c.rip=${ops[i + 1].ip};${counter}+=${i + 1};${X}}`);
    // a ret inside the block (machine.ts collect: the return of a call the block followed) goes on only
    // to the return address the block was built for
    if (!last && op.flow === 4) body.push(`if(c.rip!==${ops[i + 1].ip}){${counter}+=${i + 1};${X}}`);
    if (last) endsWithRip = op.flow !== 0 || !!(f && f.ends) || op.bad !== 0 || !!why;
  }
  if (!selfLoop) {
    if (!endsWithRip) body.push(`c.rip=${ops[n - 1].next};`);
    body.push(`${counter}+=${n - pre};`);
    if (innerLoop) body.push(`${X}}`);
  }
  let text = body.join('\n');
  if (lc) text = lc.wrap(text, g.k(Float64Array.from(ops, (o) => o.ip)));
  return { name: 'b_' + hex0x(ops[0].ip).slice(2), body: text, consts, pre };
}

// ---- guest state in locals (compiled blocks) ----
// A compiled block keeps each guest register half it touches in a local (rN for R[N]), loaded on entry,
// and the lazy-flag fields its producers write in locals (Ffk, Ffr0 ...), so V8 keeps them in machine
// registers. They are stored back where every exit leaves the block (`break out`); before a helper that reads them from the Cpu (flag
// readers: stores the flags; everything else: stores all, and reloads the registers after); and, when
// something throws (a guest fault), by the block's catch, which also sets RIP from the index k of the
// instruction that was running (k is assigned before each instruction that can fault, instead of
// storing c.rip there). Precise state therefore costs nothing until a fault happens.
const FLAG_FIELDS = 'fk|fsz|fr0|fr1|fa0|fa1|fb0|fb1|fcf|fof|faf';
const FLAG_RE = new RegExp(`\\bc\\.(${FLAG_FIELDS})(?![\\w$])`, 'g');
const FLAG_WRITE_RE = new RegExp(`\\bc\\.(${FLAG_FIELDS})=(?!=)`);
/** helpers that read the lazy flags from the Cpu and nothing else of the guest state */
const FLAG_READERS = new Set(['cf', 'rflags', 'pushfVal', ...Array.from({ length: 16 }, (_, i) => 'c' + i)]);
/** helpers that read and write the lazy flags in the Cpu, but no register */
const FLAG_WRITERS = new Set(['setCF', 'setCO', 'shift', 'shd', 'imul2', 'bsf', 'bsr', 'tzcnt', 'lzcnt', 'popcnt']);
/** helpers that only throw (the catch stores the state) */
const THROWERS = new Set(['gp']);
const FR = '/*FR*/', FF = '/*FF*/', RL = '/*RL*/';
const FLUSH = FR + FF;
const REG_ASSIGN = /(?<![\w$.])R\[(\d+)\]=(?!=)/g;
const REG_READ = /(?<![\w$.])R\[(\d+)\]/g;

/** Rewrite `R[n]` of a generated snippet into locals: reads become rN, writes rN=(value)>>>0 (a
 *  Uint32Array store wraps; a local must be wrapped explicitly). */
function localRegs(t: string, used: Set<number>, written: Set<number>): string {
  for (;;) {
    let last: RegExpExecArray | null = null;
    REG_ASSIGN.lastIndex = 0;
    for (let mm = REG_ASSIGN.exec(t); mm; mm = REG_ASSIGN.exec(t)) last = mm;
    if (!last) break;
    const r = Number(last[1]), start = last.index + last[0].length;
    let depth = 0, j = start;
    for (; j < t.length; j++) {
      const ch = t[j];
      if (ch === '(' || ch === '[' || ch === '{') depth++;
      else if (ch === ')' || ch === ']' || ch === '}') { if (depth === 0) break; depth--; }
      else if ((ch === ';' || ch === ',') && depth === 0) break;
    }
    used.add(r); written.add(r);
    t = `${t.slice(0, last.index)}r${r}=(${t.slice(start, j)})>>>0${t.slice(j)}`;
  }
  return t.replace(REG_READ, (_m, n: string) => { used.add(Number(n)); return 'r' + n; });
}

class Locals {
  private readonly used = new Set<number>();
  private readonly written = new Set<number>();
  private readonly flags = new Set<string>();

  /** One instruction's snippet (i: its index in the block, ip: its address, mf: can it fault, loops: the
   *  block loops back to its first instruction, so k must be set there too). */
  instruction(t: string, i: number, ip: number, mf: boolean, loops = false): string {
    let full = false, freads = false, fwrites = false;
    for (const mm of t.matchAll(/\bH\.(\w+)\(/g)) {
      const nm = mm[1];
      if (THROWERS.has(nm)) continue;
      if (FLAG_READERS.has(nm)) freads = true;
      else if (FLAG_WRITERS.has(nm)) { freads = true; fwrites = true; }
      else full = true;
    }
    const local = FLAG_WRITE_RE.test(t);
    t = t.replace(FLAG_RE, (_m, f: string) => { this.flags.add(f); return 'F' + f; });
    const before = this.written.size;
    t = localRegs(t, this.used, this.written);
    if (full) {
      // the helper sees and changes the guest state in the Cpu
      if (this.written.size !== before && /r\d+=\(/.test(t.slice(t.search(/\bH\.\w+\(/)))) throw new Error('register written after a helper');
      return `${FLUSH}lz=0;k=${i};c.rip=${ip};${t}${RL}lz=1;fp=0;`;
    }
    let pre = mf && (i > 0 || loops) ? `k=${i};` : '';
    if (freads) pre += FF;
    return pre + t + (local ? 'fp=1;' : fwrites ? 'fp=0;' : '');
  }

  /** The whole block body with its locals declared, and stored back when anything throws. */
  wrap(text: string, ips: string): string {
    const used = [...this.used].sort((a, b) => a - b), written = [...this.written].sort((a, b) => a - b);
    const fl = [...this.flags];
    const fr = written.map((n) => `R[${n}]=r${n};`).join('');
    const ff = fl.length ? `if(fp!==0){${fl.map((f) => `c.${f}=F${f};`).join('')}fp=0;}` : '';
    const rl = used.map((n) => `r${n}=R[${n}];`).join('');
    let decl = used.length ? `let ${used.map((n) => `r${n}=R[${n}]`).join(',')};` : '';
    if (fl.length) decl += `let ${fl.map((f) => `F${f}=0`).join(',')};`;
    decl += 'let fp=0,k=0,lz=1;';
    const body = `${decl}try{out:{\n${text}\n}${FLUSH}}catch(e){if(lz!==0){${FR}}${FF}c.rip=${ips}[k];throw e;}`;
    return body.split(FR).join(fr).split(FF).join(ff).split(RL).join(rl);
  }
}

/** The generated source of a block (for debugging and tests). */
export function blockSource(b: Block): string { return String(jsFnOf.get(b) ?? b.fn); }
