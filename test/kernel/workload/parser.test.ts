import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_NESTING, parseWorkload } from '../../../src/kernel/workload/parser.js';
import { WorkloadError } from '../../../src/kernel/workload/error.js';

function err(src: string): WorkloadError {
  try { parseWorkload('t.wl', src); } catch (e) { if (e instanceof WorkloadError) return e; throw e; }
  throw new Error('expected a WorkloadError for: ' + src);
}

test('calls, variables, defaults', () => {
  const s = parseWorkload('t.wl', 'fd = openat "/etc/motd"\nb = buf 64\nn = read fd b\nclose fd\n');
  assert.is(s.body.length, 4);
  const open = s.body[0];
  assert.is(open.kind, 'call');
  if (open.kind !== 'call') return;
  assert.is(open.nr, 257);
  assert.is(open.target, 'fd');
  assert.equal(open.args.map((a) => a.kind), ['int', 'string', 'int', 'int']);
  assert.is((open.args[0] as { value: number }).value, -100);
  const read = s.body[2];
  if (read.kind !== 'call') throw new Error('not a call');
  assert.is((read.args[2] as { value: number }).value, 64, 'read count defaults to the buffer size');
});

test('write count defaults to the string length; errno literals and constants', () => {
  const s = parseWorkload('t.wl', 'n = write STDOUT "hello\\n"\nexpect n == 6\nr = read 99 NULL 1\nexpect r == -EBADF');
  const w = s.body[0];
  if (w.kind !== 'call') throw new Error('not a call');
  assert.is((w.args[2] as { value: number }).value, 6);
  const e = s.body[3];
  if (e.kind !== 'expect') throw new Error('not expect');
  assert.is((e.right as { value: number }).value, -9);
});

test('repeat, spawn, nested blocks, one-line blocks, semicolons', () => {
  const s = parseWorkload('t.wl', 'repeat 3 { getpid; sched_yield }\nspawn 2 {\n  repeat 2 { getpid }\n}\n');
  assert.is(s.body[0].kind, 'repeat');
  if (s.body[0].kind !== 'repeat' || s.body[1].kind !== 'spawn') throw new Error('shape');
  assert.is(s.body[0].body.length, 2);
  assert.is(s.body[1].count, 2);
  assert.is(s.body[1].body[0].kind, 'repeat');
});

test('buffer elements and string expectations', () => {
  const s = parseWorkload('t.wl', 'p = buf 8\npipe2 p\nn = write p[1] "ping"\nb = buf 4\nread p[0] b\nexpect b == "ping"');
  assert.is(s.body.length, 6);
});

test('errors point at the culprit with file:line:col and a caret', () => {
  const e = err('getpid\nfd = opn "/etc/motd"\n');
  assert.is(e.message, "t.wl:2:6: unknown system call 'opn'");
  assert.is(e.format(), "t.wl:2:6: unknown system call 'opn'\n  fd = opn \"/etc/motd\"\n       ^~~");
});

test('every kind of mistake is caught before boot', () => {
  const cases: [string, RegExp][] = [
    ['read x b', /unknown variable 'x'/],
    ['b = buf 4\nread 0 b 4 9', /too many arguments/],
    ['n = getpid\nn[0]', /unknown system call 'n'/],
    ['repeat x { getpid }', /repeat count must be an integer/],
    ['spawn 0 { getpid }', /spawn count must be between 1 and 64/],
    ['repeat 2 { getpid', /missing '}'/],
    ['getpid }', /unmatched '}'/],
    ['clone', /use `spawn N/],
    ['write 1 "abc', /unterminated string/],
    ['write 1 "\\q"', /unknown escape/],
    ['expect 1 = 2', /expected a comparison/],
    ['n = getpid\nexpect n == "x"', /a string compares with a buffer/],
    ['b = buf 8\nexpect b < "x"', /only with == or !=/],
    ['b = buf 8\nexpect b[2] == 1', /index 2 is outside 'b'/],
    ['r = read 0 0\n', /missing argument 'count'/],
    ['expect 1 == -ENOPE', /unknown errno name 'ENOPE'/],
    ['read = getpid', /reserved name/],
    ['getpid getpid', /unknown variable 'getpid'/],
    ['nanosleep "x"', /time in nanoseconds/],
    ['b = buf 0', /buffer size must be between/],
    ['n = 5', /expected a system call/],
    ['getpid @', /unexpected character '@'/],
  ];
  for (const [src, re] of cases) {
    const e = err(src);
    assert.match(e.message, re, src);
    assert.match(e.message, /^t\.wl:\d+:\d+: /);
  }
});

test('nesting is bounded: at most MAX_NESTING levels, a caret at the first brace too deep, 5,000 levels fail alike', () => {
  const nest = (n: number) => 'repeat 1 {'.repeat(n) + 'getpid' + '}'.repeat(n);
  let s = parseWorkload('t.wl', nest(MAX_NESTING)).body;
  for (let i = 1; i < MAX_NESTING; i++) s = (s[0] as { body: typeof s }).body;
  assert.is(s[0]!.kind, 'repeat');
  const e = err(nest(MAX_NESTING + 1));
  assert.is(e.message, `t.wl:1:${MAX_NESTING * 10 + 10}: blocks nested too deeply (at most ${MAX_NESTING} levels)`);
  const deep = err(nest(5000));
  assert.is(deep.message, e.message);
  // The source line is shown cut around the culprit, with the caret under it.
  const [, line, caret] = deep.format().split('\n');
  assert.ok(line!.length < 120, line);
  assert.is(line![caret!.indexOf('^')], '{');
  // spawn nests the same way, one line per level too.
  assert.match(err('spawn 1 {\n'.repeat(MAX_NESTING + 1)).message, new RegExp(`t\\.wl:${MAX_NESTING + 1}:9: blocks nested too deeply`));
});

test('error format: a long line is cut to a window around the culprit; invisible characters show as ?', () => {
  const e = err('getpid; '.repeat(300) + 'opn');
  const [, line, caret] = e.format().split('\n');
  assert.ok(line!.startsWith('  ...') && line!.endsWith('opn'), line);
  assert.is(line!.slice(caret!.indexOf('^'), caret!.indexOf('^') + 3), 'opn');
  assert.is(caret!.trim(), '^~~');
  const c = err('getpid\x01');
  assert.is(c.format(), "t.wl:1:7: unexpected character '\\x01'\n  getpid?\n        ^");
  // An astral character is one character, and a right-to-left override is named, not obeyed.
  assert.is(err('getpid \u{1F600}').message, "t.wl:1:8: unexpected character '\u{1F600}'");
  assert.is(err('x = "\u202e" getpid').message, "t.wl:1:5: expected a system call or `buf SIZE`");
  assert.is(err('getpid "a\u202eb"').message, "t.wl:1:8: too many arguments: getpid takes 0 (none)");
  assert.is(err('write 1 "\u202e" 1 2 3').message, "t.wl:1:15: too many arguments: write takes 3 (fd, buf, count)");
});

test("a missing brace at the end of a line says so on one line (fuzz seed 532)", () => {
  assert.is(err('repeat 4 \n{ getpid }').message, "t.wl:1:10: expected '{' but found the end of the line");
  assert.is(err('repeat 4 ; getpid').message, "t.wl:1:10: expected '{' but found ';'");
  assert.is(err('repeat 4 \n{ getpid }').format().split('\n').length, 3);
});

test('names of Object.prototype are no constants or errno names', () => {
  assert.match(err('exit toString').message, /unknown variable 'toString'/);
  assert.match(err('exit constructor').message, /unknown variable 'constructor'/);
  assert.match(err('exit __proto__').message, /unknown variable '__proto__'/);
  const s = parseWorkload('t.wl', 'toString = getpid\nexit toString');
  assert.is(s.body.length, 2);
});

test('many expects on many lines parse in linear time: four times the lines, not sixteen times the time', () => {
  const time = (n: number) => {
    const src = 'r = getpid\n' + 'expect r > 0\n'.repeat(n);
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const t0 = process.hrtime.bigint();
      assert.is(parseWorkload('t.wl', src).body.length, n + 1);
      best = Math.min(best, Number(process.hrtime.bigint() - t0));
    }
    return best;
  };
  const small = time(5_000), large = time(20_000);
  assert.ok(large / small < 10, `5,000 lines ${small / 1e6} ms, 20,000 lines ${large / 1e6} ms`);
});

test("a task's buffers must fit its user heap: refused before boot with a caret, each spawned task counted apart", () => {
  const fits = 'b0 = buf 65536\n'.repeat(14);
  assert.is(parseWorkload('t.wl', fits).body.length, 14);
  const e = err(fits + 'x = buf 1\n');
  assert.is(e.message, "t.wl:15:1: this task's buffers need more than its 896 KiB of user memory");
  // The same buffers in a spawned task: its own heap.
  assert.is(parseWorkload('t.wl', fits + 'spawn 1 {\n' + fits + '}\n').body.length, 15);
  // A timespec takes 16 bytes of it too.
  assert.match(err(fits + 'nanosleep 1').message, /^t\.wl:15:11: this task's buffers need more/);
});

test('symbolic flags with |, octal numbers, a UTF-8 byte order mark', () => {
  const s = parseWorkload('t.wl', '\ufefffd = openat "/tmp/x" O_CREAT|O_WRONLY | O_TRUNC 0644\nexpect fd == 3|4\n');
  const open = s.body[0];
  if (open.kind !== 'call') throw new Error('not a call');
  const a = parseWorkload('u.wl', 'fd = openat "/tmp/x" O_CREAT\n').body[0]!;
  const creat = a.kind === 'call' ? (a.args[2] as { value: number }).value : NaN;
  const w = parseWorkload('u.wl', 'fd = openat "/tmp/x" O_WRONLY\n').body[0]!;
  const wr = w.kind === 'call' ? (w.args[2] as { value: number }).value : NaN;
  const t = parseWorkload('u.wl', 'fd = openat "/tmp/x" O_TRUNC\n').body[0]!;
  const tr = t.kind === 'call' ? (t.args[2] as { value: number }).value : NaN;
  assert.is((open.args[2] as { value: number }).value, creat | wr | tr);
  assert.is((open.args[3] as { value: number }).value, 0o644);
  const e = s.body[1];
  if (e.kind !== 'expect') throw new Error('not an expect');
  assert.is((e.right as { value: number }).value, 7);
  // the BOM is not a character of line 1: columns count after it
  assert.is(err('\ufeffx = nosuch\n').format().split('\n')[0], 't.wl:1:5: unknown system call \'nosuch\'');
  assert.is(parseWorkload('t.wl', 'n = read 0 NULL 010\n').body[0]!.kind, 'call');
  assert.match(err('n = read 0 NULL 09\n').format(), /bad octal number '09'/);
  assert.match(err('b = buf 8\nn = read 0 b O_CREAT|b\n').format(), /'\|' combines integers and constants/);
  assert.match(err('n = read 0 NULL O_CREAT|"x"\n').format(), /'\|' combines integers/);
});

test.run();
