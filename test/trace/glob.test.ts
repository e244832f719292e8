import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { globMatcher, perfGlobMatcher } from '../../src/trace/glob.js';
import { mulberry32 } from '../prng.js';

const m = (p: string, s: string) => globMatcher(p)(s);

test('*, ? and plain characters match whole strings', () => {
  assert.ok(m('vfs_*', 'vfs_read')); assert.not.ok(m('vfs_*', 'do_vfs_read')); assert.not.ok(m('vfs_*', 'xvfs_read'));
  assert.ok(m('?fs_read', 'vfs_read')); assert.ok(m('vfs_rea?', 'vfs_read')); assert.not.ok(m('vfs_rea?', 'vfs_rea'));
  assert.ok(m('a.b', 'a.b')); assert.not.ok(m('a.b', 'axb'));
  assert.ok(m('*', '')); assert.ok(m('', '')); assert.not.ok(m('', 'a'));
  assert.ok(m('*read*', 'vfs_read_iter')); assert.ok(m('a**b', 'ab')); assert.not.ok(m('*@plt', 'memcpy'));
});

test('classes as perf reads them: ranges, !, a literal first character, unterminated or descending = no match', () => {
  assert.ok(m('[kv]fs', 'kfs')); assert.ok(m('[a-c]*', 'bar')); assert.not.ok(m('[!a-c]*', 'bar')); assert.ok(m('[!a-c]*', 'dar'));
  assert.ok(m('[]]', ']')); assert.ok(m('[!]]', 'x')); assert.not.ok(m('[!]]', ']'));
  assert.ok(m('[-a]', '-')); assert.ok(m('[a-]', '-'));
  assert.not.ok(m('[abc', 'a')); assert.not.ok(m('[', '[')); assert.not.ok(m('[z-a]', 'm'));
});

test('backslash makes the next character plain', () => {
  assert.ok(m('a\\*', 'a*')); assert.not.ok(m('a\\*', 'ab')); assert.ok(m('\\[x]', '[x]')); assert.ok(m('\\?', '?')); assert.not.ok(m('\\?', 'x'));
});

test('without classes and escapes, agrees with the regular expression the glob spells (seeded sample)', () => {
  const next = mulberry32(20), int = (n: number) => next() % n;
  const alpha = 'ab_*?';
  for (let n = 0; n < 3000; n++) {
    const pat = Array.from({ length: int(6) }, () => alpha[int(alpha.length)]).join('');
    const str = Array.from({ length: int(7) }, () => 'ab_'[int(3)]).join('');
    const re = new RegExp('^' + pat.replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 's');
    assert.is(perfGlobMatcher(pat)(str), re.test(str), `${pat} ~ ${str}`);
    assert.is(m(pat, str), re.test(str), `${pat} ~ ${str} (globMatcher)`);
  }
});

test("globMatcher agrees with perf's matcher, regular-expression characters and classes included (seeded sample)", () => {
  const next = mulberry32(21), int = (n: number) => next() % n;
  const alpha = 'a.b*?+()|^$\\/{}]-!\n';
  for (let n = 0; n < 4000; n++) {
    const pat = Array.from({ length: int(7) }, () => alpha[int(alpha.length)]).join('') + (int(8) === 0 ? '[a-c]' : '');
    const str = Array.from({ length: int(8) }, () => alpha[int(alpha.length)]).join('');
    assert.is(m(pat, str), perfGlobMatcher(pat)(str), `${JSON.stringify(pat)} ~ ${JSON.stringify(str)}`);
    assert.is(m(pat, pat), perfGlobMatcher(pat)(pat), `${JSON.stringify(pat)} ~ itself`);
  }
});

test.run();
