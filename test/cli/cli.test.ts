import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { perfActionAliases } from '../../src/cli/cli.js';
import { report, UsageError, usageMessage } from '../../src/cli/cli.js';
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

test('perf probe action options map to commands: short and long forms, several -a, options kept for the command', () => {
  assert.equal(perfActionAliases(['-a', 'vfs_read']), ['add', '-a', 'vfs_read']);
  assert.equal(perfActionAliases(['--add', 'vfs_read count', '--add=vfs_write', '-f', '-q']), ['add', '-a', 'vfs_read count', '-a', 'vfs_write', '-f', '-q']);
  assert.equal(perfActionAliases(['-k', 'vmlinux', '-l']), ['list', '-k', 'vmlinux']);
  assert.equal(perfActionAliases(['--list', 'probe:*']), ['list', 'probe:*']);
  assert.equal(perfActionAliases(['-D', 'vfs_read', '--no-inlines', '--max-probes', '3']), ['add', '-D', '-a', 'vfs_read', '--no-inlines', '--max-probes', '3']);
  assert.equal(perfActionAliases(['--definition', 'vfs_read']), ['add', '-D', '-a', 'vfs_read']);
  assert.equal(perfActionAliases(['-L', 'vfs_read', '-s', '/src']), ['line', '-s', '/src', 'vfs_read']);
  assert.equal(perfActionAliases(['--line', 'vfs_read']), ['line', 'vfs_read']);
  assert.equal(perfActionAliases(['-V', 'vfs_read']), ['vars', 'vfs_read']);
  assert.equal(perfActionAliases(['--vars', 'vfs_read']), ['vars', 'vfs_read']);
  assert.equal(perfActionAliases(['-d', 'a', '--del', 'b', '-f']), ['del', '-f', 'a', 'b']);
  assert.equal(perfActionAliases(['-F']), ['funcs']);
  assert.equal(perfActionAliases(['--funcs', 'vfs_*']), ['funcs', 'vfs_*']);
  assert.equal(perfActionAliases(['-F', '--filter', 'vfs_*']), ['funcs', 'vfs_*']);
  assert.equal(perfActionAliases(['--funcs', '--filter=vfs_*']), ['funcs', 'vfs_*']);
  // perf: the words after the options are one more definition (parse_probe_event_argv)
  assert.equal(perfActionAliases(['-a', 'vfs_read', 'vfs_write']), ['add', '-a', 'vfs_read', 'vfs_write']);
  // a command first: untouched
  assert.equal(perfActionAliases(['funcs', '-a']), ['funcs', '-a']);
  assert.equal(perfActionAliases(['--help']), ['--help']);
  assert.throws(() => perfActionAliases(['-V']), (e: Error) => e instanceof UsageError && e.message === 'option -V (--vars) requires a value');
  assert.throws(() => perfActionAliases(['-a', 'x', '-d', 'y']), /-a and -d in one command: give one action/);
});

test('yargs messages in ktrace words: options by flag (no camelCase twins), operands by value, the usage', () => {
  assert.is(usageMessage('Unknown arguments: max-probes, maxProbes', ['vars', '--max-probes', '3', 'x']), 'unknown option --max-probes');
  assert.is(usageMessage('Unknown argument: q', ['line', '-q', 'x']), 'unknown option -q');
  assert.is(usageMessage('Unknown argument: b', ['list', 'a', 'b'], 'list [pattern]'), "unexpected argument 'b' (usage: ktrace list [pattern])");
  assert.is(usageMessage('Not enough non-option arguments: got 0, need at least 1', ['line'], 'line <range>'), 'missing argument (usage: ktrace line <range>)');
  assert.is(usageMessage('Not enough arguments following: k', ['-k']), 'option -k requires a value');
  const u = new UsageError('missing argument');
  u.command = 'line';
  assert.is(capture(() => report(u)).err, "ktrace: line: missing argument\nTry 'ktrace line --help' for more information.\n");
});

test.run();
