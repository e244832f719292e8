import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Memory, PERM_R, PERM_W, PERM_U } from '../../../src/emu/memory.js';
import { safeLoad, currentTask } from '../../../src/trace/runtime/context.js';

const K = -0x778000000000; // 0xffff888000000000, the direct map
function mem(): Memory {
  const m = new Memory();
  m.map(K, 0x2000, PERM_R | PERM_W);
  m.map(0x400000, 0x1000, PERM_R | PERM_W | PERM_U);
  return m;
}

test('safeLoad: sizes, faults on unmapped bytes, and kernel/user halves kept apart', () => {
  const m = mem();
  m.write64(K + 8, 0x1122334455667788n);
  assert.is(safeLoad(m, K + 8, 8, false), 0x1122334455667788n);
  assert.is(safeLoad(m, K + 8, 4, false), 0x55667788n);
  assert.is(safeLoad(m, K + 8, 1, false), 0x88n);
  assert.is(safeLoad(m, K + 0x1ffc, 8, false), undefined, 'crosses into an unmapped page');
  m.write32(0x400010, 0xdeadbeef);
  assert.is(safeLoad(m, 0x400010, 4, true), 0xdeadbeefn);
  assert.is(safeLoad(m, 0x400010, 4, false), undefined, 'a kernel read of a user address fails (copy_from_kernel_nofault)');
  assert.is(safeLoad(m, K + 8, 4, true), undefined, 'a user read of a kernel address fails');
});

test('currentTask follows %gs → pcpu_hot.current_task → task_struct pid and comm', () => {
  const m = mem();
  const pcpu = K + 0x100, task = K + 0x800;
  m.write64(pcpu, BigInt.asUintN(64, BigInt(task)));
  m.write32(task + 72, 7);
  m.writeBytes(task + 80, Buffer.from('worker\0'));
  assert.equal(currentTask(m, pcpu), { task, pid: 7, comm: 'worker' });
  assert.is(currentTask(m, 0), undefined, 'a user-mode %gs base');
  assert.is(currentTask(m, K + 0x5000), undefined, 'unmapped');
});

test.run();
