// The event filter grammar against kernel/trace/trace_events_filter.c: a seeded sweep of random
// boolean expressions (&&, ||, !, parentheses) compared with JavaScript's own evaluation of the same
// expression (the kernel's branch program must agree with plain precedence: ! over && over ||),
// then the predicates, string matching and the kernel's error codes, positions and errnos.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileFilter, filterErrorText, filterLogEntry, globMatch, type FilterField } from '../../src/trace/filter.js';
import { uniform as rng } from '../prng.js';

const F: FilterField[] = [
  { name: 'a', size: 8, signed: false, kind: 'num' }, { name: 'b', size: 8, signed: false, kind: 'num' },
  { name: 'c', size: 4, signed: true, kind: 'num' }, { name: 'd', size: 1, signed: false, kind: 'num' },
  { name: 's', size: 4, signed: true, kind: 'str' }, { name: 'comm', size: 0, signed: false, kind: 'comm' },
  { name: 'cpu', size: 4, signed: true, kind: 'cpu' },
];

test('random boolean expressions: the branch program agrees with the expression', () => {
  const r = rng(18);
  const LONG = process.env.KTRACE_LONG === '1';
  const atoms = ['a == 1', 'b != 0', 'c < 0', 'd >= 2', 'a & 2', 's == "x"', 'comm ~ "c*"', 'cpu > 0'];
  const js = ['A == 1n', 'B != 0n', 'C < 0n', 'D >= 2n', '(A & 2n) != 0n', 'S === "x"', 'M.startsWith("c")', 'P > 0n'];
  const gen = (depth: number): [string, string] => {
    const k = r();
    if (depth > 3 || k < 0.3) { const i = Math.floor(r() * atoms.length); return [atoms[i]!, js[i]!]; }
    if (k < 0.45) { const [x, y] = gen(depth + 1); return [`!(${x})`, `!(${y})`]; }
    if (k < 0.55) { const [x, y] = gen(depth + 1); return [`(${x})`, `(${y})`]; }
    const [x1, y1] = gen(depth + 1), [x2, y2] = gen(depth + 1);
    return r() < 0.5 ? [`${x1} && ${x2}`, `${y1} && ${y2}`] : [`${x1} || ${x2}`, `${y1} || ${y2}`];
  };
  for (let n = 0; n < (LONG ? 20000 : 600); n++) {
    const [expr, jsExpr] = gen(0);
    const c = compileFilter(expr, F);
    assert.ok(c.ok, expr);
    if (!c.ok) continue;
    const fn = new Function('A', 'B', 'C', 'D', 'S', 'M', 'P', `return ${jsExpr};`);
    for (let k = 0; k < 6; k++) {
      const v = { a: BigInt(Math.floor(r() * 4)), b: BigInt(Math.floor(r() * 2)), c: BigInt(Math.floor(r() * 3) - 1), d: BigInt(Math.floor(r() * 4)),
        s: r() < 0.5 ? 'x' : 'y', comm: r() < 0.5 ? 'cat' : 'init', cpu: BigInt(Math.floor(r() * 2)) };
      const want = fn(v.a, v.b, v.c, v.d, v.s, v.comm, v.cpu) as boolean;
      const got = c.filter.match((f) => (v as Record<string, bigint | string>)[f.name]!);
      assert.is(got, want, `${expr} with ${JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x))}`);
    }
  }
});

test('predicates: sizes and signs, &, string globs as filter_parse_regex reads them', () => {
  const m = (expr: string, v: Record<string, bigint | string>) => {
    const c = compileFilter(expr, F);
    if (!c.ok) throw new Error(`${expr}: ${filterErrorText(c)}`);
    return c.filter.match((f) => v[f.name] ?? 0n);
  };
  assert.ok(m('c < 0', { c: 0xffffffffn })); // a stored s32 -1
  assert.ok(m('c == -1', { c: 0xffffffffn }));
  assert.ok(m('d == 0x101', { d: 1n })); // the value is cast to the field's size
  assert.ok(m('a & 0x10', { a: 0x30n }) && !m('a & 0x10', { a: 0x20n }));
  assert.ok(m('comm == "cat"', { comm: 'cat' }) && !m('comm == "ca"', { comm: 'cat' }));
  assert.ok(m('comm ~ "c*"', { comm: 'cat' }) && m('comm ~ "*t"', { comm: 'cat' }) && m('comm ~ "*a*"', { comm: 'cat' }));
  assert.ok(m('comm ~ "c?t"', { comm: 'cat' }) && m('comm ~ "[bc]at"', { comm: 'cat' }) && !m('comm ~ "[!c]at"', { comm: 'cat' }));
  assert.ok(m('comm ~ "!cat"', { comm: 'dog' }) && !m('comm ~ "!cat"', { comm: 'cat' }));
  assert.ok(m('comm != "cat"', { comm: 'dog' }));
  assert.ok(m('!(a == 1)', { a: 0n }) && !m('!(a == 1) && !(b == 0)', { a: 0n, b: 0n }));
  assert.ok(globMatch('a\\*b', 'a*b') && !globMatch('a\\*b', 'axb'));
});

test("errors: the kernel's codes, positions, errnos and texts", () => {
  const e = (expr: string) => { const c = compileFilter(expr, F); assert.not.ok(c.ok, expr); return c as Exclude<typeof c, { ok: true }>; };
  const cases: [string, string, number, number][] = [
    // expression, message, position, errno
    ['x == 1', 'Field not found', 1, -22],
    ['a = 1', 'Invalid operator', 2, -22],
    ['a == b', 'Invalid value (did you forget quotes)?', 5, -22],
    ['a == "x"', 'Expecting numeric field', 5, -22],
    ['s == 1', 'Expecting string field', 5, -22],
    ['s < "x"', 'Illegal operation for field type', 4, -22],
    ['a ~ 1', 'Illegal operation for field type', 4, -22],
    ['a == 1z', 'Illegal integer value', 5, -22],
    ['a == 1 b == 2', 'Too many terms in predicate expression', 7, -1],
    ['(a == 1', "Too many '('", 0, -2],
    ['a == 1)', "Too few '('", 6, -1],
    ['s == "x', 'Missing matching quote', 5, -3],
    ['a == 1 &', 'Too many terms in predicate expression', 7, -1],
  ];
  for (const [expr, msg, pos, errno] of cases) {
    const r = e(expr);
    assert.is(filterLogEntry(r).message, msg, expr);
    assert.is(r.pos, pos, expr);
    assert.is(r.errno, errno, expr);
  }
  // The filter file after a failed write: the text, a caret, the message (append_filter_err).
  assert.is(filterErrorText(e('a = 1')), 'a = 1\n  ^\nparse_error: Invalid operator');
  assert.is(filterErrorText(e('(a == 1')), '(a == 1\n^\nparse_error: Too many \'(\'');
  const log = filterLogEntry(e('x == 1'));
  assert.equal([log.subsystem, log.command, log.pos], ['event filter parse error', 'x == 1', 1]);
  // Trailing whitespace (echo's newline) is not part of the filter.
  const ok = compileFilter('a == 1 \n', F);
  assert.ok(ok.ok && ok.filter.text === 'a == 1');
});

test.run();
