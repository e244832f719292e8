import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { perfActionAliases } from '../../src/cli/cli.js';
import { report, UsageError } from '../../src/cli/cli.js';
import { CliError } from '../../src/cli/errors.js';

function capture(f: () => number): { code: number; err: string } {
  const orig = process.stderr.write.bind(process.stderr);
  let err = '';
  (process.stderr as unknown as { write: (s: string) => boolean }).write = (s: string) => { err += s; return true; };
  try {
    return { code: f(), err };
  } finally {
    (process.stderr as unknown as { write: typeof orig }).write = orig;
  }
}

test('an unexpected exception is one internal-error line, the stack only with KTRACE_DEBUG=1', () => {
  const saved = process.env.KTRACE_DEBUG;
  try {
    delete process.env.KTRACE_DEBUG;
    const r = capture(() => report(new TypeError('boom')));
    assert.is(r.code, 1);
    assert.is(r.err.split('\n')[0], 'ktrace: internal error: boom');
    assert.not.match(r.err, /\n\s+at /);
    process.env.KTRACE_DEBUG = '1';
    const d = capture(() => report(new TypeError('boom')));
    assert.match(d.err, /^ktrace: internal error: boom\nTypeError: boom\n\s+at /);
  } finally {
    if (saved === undefined) delete process.env.KTRACE_DEBUG; else process.env.KTRACE_DEBUG = saved;
  }
});

test('CliError and UsageError exit codes and prefixes', () => {
  assert.equal(capture(() => report(new CliError('x: broken'))), { code: 1, err: 'ktrace: x: broken\n' });
  assert.equal(capture(() => report(new CliError('cat: /p: No such file or directory', 1, { bare: true }))), { code: 1, err: 'cat: /p: No such file or directory\n' });
  const u = capture(() => report(new UsageError('bad')));
  assert.is(u.code, 2);
  assert.is(u.err, "ktrace: bad\nTry 'ktrace --help' for more information.\n");
});

test('perf probe action flags map to commands: -a -d -l -D -L, and -V SPEC (bare -V is --version)', () => {
  assert.equal(perfActionAliases(['-a', 'vfs_read']), ['add', 'vfs_read']);
  assert.equal(perfActionAliases(['-k', 'vmlinux', '-l']), ['-k', 'vmlinux', 'list']);
  assert.equal(perfActionAliases(['-D', 'vfs_read']), ['add', '-D', 'vfs_read']);
  assert.equal(perfActionAliases(['-L', 'vfs_read']), ['line', 'vfs_read']);
  assert.equal(perfActionAliases(['-V', 'vfs_read']), ['vars', 'vfs_read']);
  assert.equal(perfActionAliases(['-V']), ['-V']);
});

test.run();
