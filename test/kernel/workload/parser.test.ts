import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseWorkload } from '../../../src/kernel/workload/parser.js';
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

test.run();
