// src/elf/open.ts: a vmlinux opened from a path; every failure is one ElfError naming the file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openImage } from '../../src/elf/open.js';
import { ElfError } from '../../src/elf/errors.js';
import { FIXTURE, fixtureImage } from './fixture.js';

const tmp = mkdtempSync(join(tmpdir(), 'ktrace-elf-open-'));

function err(path: string): ElfError {
  try { openImage(path); } catch (e) { assert.instance(e, ElfError); return e as ElfError; }
  throw new Error('expected an ElfError');
}

test('opens the fixture: the same functions as the image read from bytes', () => {
  assert.equal(openImage(FIXTURE).functions.map((f) => f.name), fixtureImage().functions.map((f) => f.name));
});

test('a missing file, a directory, a file that is not ELF: `<file>: <message>`', () => {
  assert.is(err(join(tmp, 'missing')).message, `${join(tmp, 'missing')}: No such file or directory`);
  assert.is(err(tmp).message, `${tmp}: Is a directory`);
  const p = join(tmp, 'text');
  writeFileSync(p, 'not elf');
  assert.is(err(p).message, `${p}: not an ELF file (bad magic)`);
});

test.run();
