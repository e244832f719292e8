// Byte-exact tests of the expression decoder, the fetch planner and the evaluator (DWARF 5 §2.5-2.6).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DwarfError, derefAt, evaluate, fieldAt, formatAddressExpr, planLocation, type EvalContext, type FetchPlan } from '../../src/dwarf/index.js';

const ctx = { addrSize: 8, offsetSize: 4 as const };
const b = (...x: number[]) => new Uint8Array(x);
const plan = (e: Uint8Array, extra = {}) => planLocation(e, { ...ctx, ...extra });

test('DW_OP_reg5 is the value in %di', () => {
  assert.equal(plan(b(0x55)), { kind: 'register', reg: 5, regName: 'di' });
});

test('DW_OP_breg7 16 is memory at +16(%sp)', () => {
  const p = plan(b(0x77, 0x10));
  assert.is(p.kind, 'memory');
  assert.is(formatAddressExpr((p as Extract<FetchPlan, { kind: 'memory' }>).address), '+16(%sp)');
});

test('DW_OP_fbreg -20 with frame base DW_OP_call_frame_cfa and CFA = rsp+8 is -12(%sp)', () => {
  const frameBase = () => planLocation(b(0x9c), { ...ctx, cfa: () => ({ reg: 7, offset: 8 }) });
  const p = plan(b(0x91, 0x6c), { frameBase });
  assert.is(formatAddressExpr((p as Extract<FetchPlan, { kind: 'memory' }>).address), '-12(%sp)');
});

test('DW_OP_fbreg with a DW_OP_breg6 0 frame base is relative to %bp', () => {
  const frameBase = () => planLocation(b(0x76, 0x00), ctx);
  const p = plan(b(0x91, 0x70), { frameBase }); // fbreg -16
  assert.is(formatAddressExpr((p as Extract<FetchPlan, { kind: 'memory' }>).address), '-16(%bp)');
});

test('pointer chase: DW_OP_breg5 8; DW_OP_deref; DW_OP_plus_uconst 24 is +24(+8(%di))', () => {
  const p = plan(b(0x75, 0x08, 0x06, 0x23, 0x18));
  assert.is(formatAddressExpr((p as Extract<FetchPlan, { kind: 'memory' }>).address), '+24(+8(%di))');
});

test('DW_OP_addr is an absolute address (@0x...)', () => {
  const p = plan(b(0x03, 0x40, 0x22, 0x00, 0x81, 0xff, 0xff, 0xff, 0xff));
  assert.is(formatAddressExpr((p as Extract<FetchPlan, { kind: 'memory' }>).address), '@0xffffffff81002240');
});

test('constants: DW_OP_lit3 DW_OP_stack_value and DW_OP_const1s -9 DW_OP_stack_value', () => {
  assert.equal(plan(b(0x33, 0x9f)), { kind: 'constant', value: 3n });
  assert.equal(plan(b(0x09, 0xf7, 0x9f)), { kind: 'constant', value: -9n });
});

test('DW_OP_entry_value(DW_OP_reg4) DW_OP_stack_value is an entry value of %si', () => {
  assert.equal(plan(b(0xa3, 0x01, 0x54, 0x9f)), { kind: 'entry-value', reg: 4, regName: 'si' });
});

test('a value computed from two registers is unavailable, not guessed', () => {
  const p = plan(b(0x70, 0x00, 0x71, 0x00, 0x22, 0x9f)); // rax + rdx
  assert.is(p.kind, 'unavailable');
});

test('pieces: DW_OP_reg0 DW_OP_piece 4 DW_OP_piece 4 (second half optimized out)', () => {
  const p = plan(b(0x50, 0x93, 0x04, 0x93, 0x04));
  assert.equal(p, { kind: 'composite', pieces: [{ bits: 32, plan: { kind: 'register', reg: 0, regName: 'ax' } }, { bits: 32, plan: null }] });
});

test('an empty expression is optimized out', () => {
  assert.equal(plan(b()), { kind: 'optimized-out' });
});

const cpu = (regs: Record<number, bigint>, mem: Record<string, bigint> = {}): EvalContext => ({
  ...ctx,
  readRegister: (r) => regs[r] ?? 0n,
  readMemory: (a, size) => BigInt.asUintN(size * 8, mem[a.toString(16)] ?? 0n),
  callFrameCfa: () => (regs[7] ?? 0n) + 8n,
  frameBase: () => (regs[7] ?? 0n) + 8n,
});

test('evaluate asks the callback for registers and memory', () => {
  const r = evaluate(b(0x75, 0x08, 0x06, 0x23, 0x18), cpu({ 5: 0x1000n }, { '1008': 0x2000n }));
  assert.equal(r, { kind: 'memory', address: 0x2018n });
  assert.equal(evaluate(b(0x55), cpu({})), { kind: 'register', reg: 5 });
  assert.equal(evaluate(b(0x91, 0x6c), cpu({ 7: 0x7000n })), { kind: 'memory', address: 0x7008n - 20n });
});

test('evaluate: arithmetic, comparisons and branches (DWARF 5 §2.5.1.4-5)', () => {
  // lit5 lit3 minus -> 2; lit2 eq -> 1; bra +1 skips lit9; lit7 stack_value
  const e = b(0x35, 0x33, 0x1c, 0x32, 0x29, 0x28, 0x01, 0x00, 0x39, 0x37, 0x9f);
  assert.equal(evaluate(e, cpu({})), { kind: 'value', value: 7n });
  assert.equal(evaluate(b(0x31, 0x1f, 0x9f), cpu({})), { kind: 'value', value: 0xffffffffffffffffn }); // -1 as u64
});

test('an infinite DW_OP_skip loop stops at the step bound with a DwarfError', () => {
  const loop = b(0x2f, 0xfd, 0xff); // skip -3: jumps to itself
  assert.throws(() => evaluate(loop, cpu({}), 1000), (e: unknown) => e instanceof DwarfError && /step bound/.test((e as Error).message));
});

test('truncated operands and unknown opcodes are DwarfErrors naming the offset', () => {
  assert.throws(() => plan(b(0x0c, 0x01)), (e: unknown) => e instanceof DwarfError && e.section === 'expression' && e.offset === 1);
  assert.throws(() => plan(b(0x96, 0x02)), (e: unknown) => e instanceof DwarfError && /unknown opcode 0x2/.test((e as Error).message));
});

const fmt = (p: FetchPlan) => (p.kind === 'memory' ? formatAddressExpr(p.address) : p.kind);

test('file->f_pos with file in %di is +40(%di); file->f_inode->i_ino chains one more deref', () => {
  const file = plan(b(0x55));
  assert.is(fmt(derefAt(file, 0x28)), '+40(%di)');
  assert.is(fmt(derefAt(derefAt(file, 0x18), 24)), '+24(+24(%di))');
});

test('a pointer spilled to the stack: +OFFS(+SLOT(%sp)); a struct on the stack: member moves the offset', () => {
  const spilled = plan(b(0x77, 0x10)); // value of the pointer lives at 16(%sp)
  assert.is(fmt(derefAt(spilled, 8)), '+8(+16(%sp))');
  assert.is(fmt(fieldAt(spilled, 8)), '+24(%sp)');
  assert.is(fmt(fieldAt(plan(b(0x03, 0x00, 0x10, 0, 0, 0, 0, 0, 0)), 4)), '@0x1004');
});

test('an entry-value or optimized-out base stays unfetchable through member access', () => {
  assert.is(derefAt(plan(b(0xa3, 0x01, 0x55, 0x9f)), 8).kind, 'unavailable');
  assert.is(derefAt({ kind: 'optimized-out' }, 8).kind, 'optimized-out');
  assert.is(fieldAt(plan(b(0x50)), 8).kind, 'unavailable');
});

test.run();
