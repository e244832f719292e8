import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { needsBoundaryCheck } from '../../src/cli/tracing.js';
import { fixtureImage } from '../elf/fixture.js';

const img = fixtureImage();

test('the instruction check (iced-x86) is needed only off mcount sites: non-zero offsets, addresses, entries without one', () => {
  assert.not.ok(needsBoundaryCheck('p:probe/vfs_read vfs_read+0', img));
  assert.not.ok(needsBoundaryCheck('p:probe/vfs_read vfs_read fd=+8(%di)', img));
  assert.not.ok(needsBoundaryCheck('-:probe/vfs_read', img));
  assert.not.ok(needsBoundaryCheck('p:probe/nope no_such_function', img), 'refused with -ENOENT before any decoding');
  assert.ok(needsBoundaryCheck('p:probe/vfs_read_4 vfs_read+4', img));
  assert.ok(needsBoundaryCheck('p vfs_read+0x10', img));
  assert.ok(needsBoundaryCheck('p:x 0xffffffff81000000', img));
  assert.ok(needsBoundaryCheck('p:a vfs_read\np:b ksys_read+7\n', img));
  // ktime_get starts with no mcount nop (notrace): an int3 probe, whose instruction the kernel judges
  assert.not.ok(img.mcountSites.includes(img.lookupName('ktime_get')!));
  assert.ok(needsBoundaryCheck('p:k ktime_get', img));
  assert.ok(needsBoundaryCheck('p:k ktime_get+0', img));
  // return probes sit at the function's entry: the same rule
  assert.ok(needsBoundaryCheck('r:k ktime_get', img));
  assert.not.ok(needsBoundaryCheck('r:probe/vfs_read vfs_read', img));
  assert.not.ok(needsBoundaryCheck('p:probe/vfs_read vfs_read%return $retval', img));
});

test.run();
