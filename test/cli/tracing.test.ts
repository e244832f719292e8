import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { needsBoundaryCheck } from '../../src/cli/tracing.js';

test('the instruction-boundary check (iced-x86) is needed only for non-zero offsets and addresses', () => {
  assert.not.ok(needsBoundaryCheck('p:probe/vfs_read vfs_read+0'));
  assert.not.ok(needsBoundaryCheck('p:probe/vfs_read vfs_read fd=+8(%di)'));
  assert.not.ok(needsBoundaryCheck('-:probe/vfs_read'));
  assert.ok(needsBoundaryCheck('p:probe/vfs_read_4 vfs_read+4'));
  assert.ok(needsBoundaryCheck('p vfs_read+0x10'));
  assert.ok(needsBoundaryCheck('p:x 0xffffffff81000000'));
  assert.ok(needsBoundaryCheck('p:a vfs_read\np:b ksys_read+7\n'));
});

test.run();
