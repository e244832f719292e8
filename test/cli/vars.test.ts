import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ktrace } from './run.js';

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

test.run();
