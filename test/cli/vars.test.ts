import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ktrace } from './run.js';
import { FIXTURE } from '../elf/fixture.js';
import { fixtureDwarf } from '../trace/perf-probe/fixture.js';
import { normalize } from '../trace/perf-probe/oracle/compare.js';

test('ktrace vars vfs_read: perf probe -V layout, tabs, sorted by type spelling', () => {
  const r = ktrace(['vars', 'vfs_read']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, [
    'Available variables at vfs_read',
    '\t@<vfs_read+0>',
    '\t\tchar*\tbuf',
    '\t\tloff_t*\tpos',
    '\t\tsize_t\tcount',
    '\t\tstruct file*\tfile',
    '',
  ].join('\n'));
});

test('FUNC:RLN, FILE:LINE and an inlined function (one @<SYM+OFF> per instance)', () => {
  const rln = ktrace(['vars', 'vfs_read:10']).stdout.split('\n');
  assert.is(rln[0], 'Available variables at vfs_read:10');
  assert.is(rln[1], '\t@<vfs_read+49>');
  // Inside the inlined rw_verify_area call: its ppos (const loff_t *: qualifiers dropped) is visible too.
  assert.ok(rln.includes('\t\tloff_t*\tppos'), rln.join('\n'));
  const file = ktrace(['vars', 'fs/read_write.c:30']).stdout.split('\n');
  assert.is(file[0], 'Available variables at @fs/read_write.c:30');
  assert.equal(file.slice(1), rln.slice(1));
  const inl = ktrace(['vars', 'rw_verify_area']).stdout;
  assert.equal(inl.split('\n').filter((l) => l.startsWith('\t@')).sort(), ['\t@<rw_verify_area+0>', '\t@<vfs_read+49>', '\t@<vfs_write+50>']);
  // The out-of-line body also has its first parameter (int read_write); the inlined copies had it folded.
  assert.match(inl, /\t@<rw_verify_area\+0>\n(\t\t.*\n)*\t\tint\tread_write\n/);
});

test('--externs adds the unit\'s globals', () => {
  const plain = ktrace(['vars', 'arch_send_reschedule']).stdout;
  const ext = ktrace(['vars', 'arch_send_reschedule', '--externs']).stdout;
  assert.not.match(plain, /irq_stat_resched/);
  assert.match(ext, /\t\tlong unsigned int\*\tirq_stat_resched\n/);
});

test('--json: each site with every variable\'s fetch location', () => {
  const r = ktrace(['vars', 'vfs_read', '--json']);
  assert.is(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.is(j.point, 'vfs_read');
  assert.is(j.sites.length, 1);
  assert.equal({ ...j.sites[0], address: undefined }, {
    symbol: 'vfs_read', offset: 0, address: undefined, vars: [
      { name: 'file', type: 'struct file*', kind: 'parameter', location: '%di' },
      { name: 'buf', type: 'char*', kind: 'parameter', location: '%si' },
      { name: 'count', type: 'size_t', kind: 'parameter', location: '%dx' },
      { name: 'pos', type: 'loff_t*', kind: 'parameter', location: '%cx' },
    ],
  });
  assert.match(j.sites[0].address, /^0xffffffff81[0-9a-f]{6}$/);
  // The JSON lists what the text form lists, site by site (an inlined copy's callee parameters too).
  for (const spec of ['ksys_read', 'early_serial_putc', 'vfs_read:10']) {
    const text = ktrace(['vars', spec]).stdout.split('\n').filter((l) => l.startsWith('\t\t') && !l.includes('(No matched')).map((l) => l.trim().replace('\t', ' '));
    const json = JSON.parse(ktrace(['vars', spec, '--json']).stdout).sites.flatMap((x: { vars: { type: string; name: string }[] }) => [...new Set(x.vars.map((v) => `${v.type} ${v.name}`))].sort());
    assert.equal(json, text, spec);
  }
});

test('errors: unknown function, bad spec', () => {
  const nf = ktrace(['vars', 'no_such_function']);
  assert.is(nf.code, 1);
  assert.match(nf.stderr, /^ktrace: vars: Probe point 'no_such_function' not found\./);
  const bad = ktrace(['vars', 'vfs_read:x']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^ktrace: vars: a line number was expected/);
});

test('--no-inlines and --max-probes: -V as perf probe 6.1 on functions with inlined copies', () => {
  if (spawnSync('perf', ['--version'], { encoding: 'utf8' }).status !== 0) { console.log('SKIP vars --no-inlines/--max-probes against perf: perf is not installed'); return; }
  const d = fixtureDwarf().dwarf;
  // The fixture's functions with at least one inlined copy (sorted: the seeded pick is stable), among
  // those perf -F lists (those with an out-of-line symbol: the recorded oracle checks plain -V on them).
  const listed = new Set(ktrace(['funcs']).stdout.split('\n'));
  const inlined = [...d.functions()].filter(([n, fs]) => listed.has(n) && fs.some((f) => f.kind !== 'function')).map(([n]) => n).sort();
  assert.ok(inlined.length > 10, String(inlined.length));
  let seed = 11;
  const pick = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return inlined[seed % inlined.length]!; };
  // sock_put is declared inline with an out-of-line copy (--no-inlines finds nothing); vfs_read has no inlined copy.
  const sample = [...new Set(['sock_put', 'vfs_read', pick(), pick(), pick()])];
  const perf = (args: string[]) => spawnSync('perf', ['probe', '-k', FIXTURE, '-s', join(FIXTURE, '..', 'kernel'), ...args], { encoding: 'utf8', env: { ...process.env, PAGER: 'cat', LC_ALL: 'C' } });
  const same = (what: string, p: { status: number | null; stdout: string }, k: { code: number; stdout: string; stderr: string }) => {
    assert.is(k.code === 0, p.status === 0, `${what}: perf ${p.status}, ktrace ${k.code} ${k.stderr}`);
    if (p.status === 0) assert.is(normalize(d, { mode: 'V', spec: what, stdout: '', ok: true }, k.stdout), normalize(d, { mode: 'V', spec: what, stdout: '', ok: true }, p.stdout), what);
  };
  let limited = 0;
  for (const fn of sample) {
    const p = perf(['-V', fn]);
    const k = ktrace(['vars', fn]);
    same(fn, p, k);
    const sites = (p.stdout.match(/^\t@</gm) ?? []).length;
    const ni = ['--no-inlines', '-V', fn];
    same(`${fn} --no-inlines`, perf(ni), ktrace(['vars', fn, '--no-inlines']));
    if (sites < 2) continue;
    // perf stops at the limit: exactly N sites pass, N+1 is an error naming the limit.
    const over = perf(['--max-probes', String(sites - 1), '-V', fn]);
    const ko = ktrace(['vars', fn, '--max-probes', String(sites - 1)]);
    assert.is.not(over.status, 0, fn);
    assert.is(ko.code, 1, fn);
    const msg = `Too many( > ${sites - 1}) probe point found.`;
    assert.ok(over.stderr.includes(msg), over.stderr);
    assert.is(ko.stderr, `ktrace: vars: ${msg}\n`);
    same(`${fn} --max-probes ${sites}`, perf(['--max-probes', String(sites), '-V', fn]), ktrace(['vars', fn, '--max-probes', String(sites)]));
    limited++;
  }
  assert.ok(limited >= 2, `${limited} functions with several sites in the sample`);
  // perf's -V spelling through ktrace's perf-style argv takes the options too.
  assert.is(ktrace(['-V', 'sock_put', '--no-inlines']).code, 1);
  assert.is(ktrace(['vars', 'vfs_read', '--max-probes', '0']).code, 2);
});

test.run();
