import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadImage } from '../../src/cli/image.js';
import { CliError } from '../../src/cli/errors.js';
import { FIXTURE } from '../elf/fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'ktrace-img-'));

function err(path: string): CliError {
  try { loadImage(path); } catch (e) { assert.instance(e, CliError); return e as CliError; }
  throw new Error('expected CliError');
}

test('loads the fixture', () => {
  assert.ok(loadImage(FIXTURE).functions.length > 100);
});

test('file and ELF errors become `<file>: <message>` CliErrors', () => {
  assert.is(err(join(tmp, 'missing')).message, `${join(tmp, 'missing')}: No such file or directory`);
  assert.is(err(tmp).message, `${tmp}: Is a directory`);
  const p = join(tmp, 'text');
  writeFileSync(p, 'not elf');
  assert.is(err(p).message, `${p}: not an ELF file (bad magic)`);
  assert.is(err(p).exitCode, 1);
});

test.run();
