import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkBackend } from '../../../src/trace/runtime/check-backend.js';
import { KprobeEvents, imageResolver } from '../../../src/trace/kprobe-events/index.js';
import { canProbe } from '../../../src/kprobe/x86.js';
import { fixtureImage } from '../../elf/fixture.js';

const img = fixtureImage();
const events = (withBoundary = true) => new KprobeEvents({ resolver: imageResolver(img), backend: checkBackend(img, withBoundary ? canProbe : undefined), now: () => 0n });

test('the check-only backend refuses what register_kprobe refuses, with the kernel errnos', () => {
  const ev = events();
  assert.ok(ev.write('p:a vfs_read\n') > 0);
  assert.is(ev.write('p:b vfs_read+1\n'), -84); // -EILSEQ: not an instruction boundary
  assert.is(ev.errorLog.entries.at(-1)!.code, 'BAD_INSN_BNDRY');
  // A blacklisted function (NOKPROBE_SYMBOL / .entry.text): -EINVAL, "Failed to register probe event".
  const bl = img.kprobeBlacklist[0]!;
  assert.is(ev.write(`p:c ${bl.name}\n`), -22);
  assert.is(ev.errorLog.entries.at(-1)!.code, 'FAIL_REG_PROBE');
  // The real boundary after the first instruction is accepted.
  const len = 5; // vfs_read starts with a 5-byte nop (fentry site)
  assert.ok(ev.write(`p:d vfs_read+${len}\n`) > 0);
});

test('without canProbe, a probe at an offset is a programming error, not a silent accept', () => {
  assert.throws(() => events(false).write('p:b vfs_read+5\n'), /canProbe/);
});

test('lines already checked on this image replay without the decoder', () => {
  const trusted = new Set(['p:kprobes/d vfs_read+5']);
  const ev = new KprobeEvents({ resolver: imageResolver(img), backend: checkBackend(img, undefined, trusted), now: () => 0n });
  assert.ok(ev.write('p:d vfs_read+5\n') > 0);
  assert.throws(() => ev.write('p:e vfs_read+5\n'), /canProbe/);
});

test.run();
