import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { perfTypeName } from '../../../src/trace/perf-probe/typename.js';
import { fixtureDwarf } from './fixture.js';

test('perf spelling: no space before *, qualifiers dropped, arrays as pointers', () => {
  const d = fixtureDwarf().dwarf;
  const at = (fn: string, name: string) => {
    const f = d.functionsByName(fn).find((x) => x.kind === 'function')!;
    return d.variablesAt(f.entryPc, { externs: true }).find((v) => v.name === name)!.type;
  };
  assert.is(perfTypeName(d, at('vfs_read', 'file')), 'struct file*');
  assert.is(perfTypeName(d, at('vfs_read', 'buf')), 'char*');
  assert.is(perfTypeName(d, at('vfs_read', 'count')), 'size_t');
  assert.is(perfTypeName(d, at('rw_verify_area', 'ppos')), 'loff_t*'); // const loff_t *
  assert.is(perfTypeName(d, at('__sys_socketpair', 'fd')), 'int*'); // int fd[2]
  assert.is(perfTypeName(d, undefined), '(unknown_type)');
});

test.run();
