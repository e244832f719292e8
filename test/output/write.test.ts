import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AtomicFile, sysMessage } from '../../src/output/write.js';
import { tempDir } from '../cli/run.js';

const err = (m: string) => new Error(m);

test('AtomicFile: FILE is replaced only on commit; abort and a failed write leave it as it was', () => {
  const d = tempDir('ktrace-atomic-');
  const f = join(d, 'out.ndjson');
  writeFileSync(f, 'old\n');
  const a = new AtomicFile(f, err);
  a.write('one\n');
  a.write(Buffer.from('two\n'));
  assert.is(readFileSync(f, 'utf8'), 'old\n');
  a.commit();
  assert.is(readFileSync(f, 'utf8'), 'one\ntwo\n');
  const b = new AtomicFile(f, err);
  b.write('half');
  b.abort();
  assert.is(readFileSync(f, 'utf8'), 'one\ntwo\n');
  const c = new AtomicFile(f, err);
  c.abort();
  assert.throws(() => c.write('x'), /nothing written/);
  assert.is(readFileSync(f, 'utf8'), 'one\ntwo\n');
  assert.equal(readdirSync(d), ['out.ndjson']);
  assert.throws(() => new AtomicFile(join(d, 'no', 'x'), err), /^No such file or directory$/);
});

test('sysMessage words errors as the C library does', () => {
  assert.is(sysMessage(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })), 'No space left on device');
  assert.is(sysMessage(new Error('other')), 'other');
});

test.run();
