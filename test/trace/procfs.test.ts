import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Vfs } from '../../src/trace/vfs.js';
import { addProcfs } from '../../src/trace/procfs.js';
import { fixtureImage } from '../elf/fixture.js';

test('/proc/kallsyms is the image kallsyms text, then the kretprobe trampoline (arch_rethook_trampoline, as 6.1 names it), read-only', () => {
  const v = new Vfs();
  const img = fixtureImage();
  addProcfs(v, img);
  const r = v.read('/proc/kallsyms');
  assert.ok(r.ok);
  if (r.ok) {
    assert.is(r.text, img.kallsyms.text() + 'ffffffffa0000000 T arch_rethook_trampoline\n');
    const f = img.functions.find((s) => s.name === 'kprobe_target')!;
    const line = `${BigInt.asUintN(64, BigInt(f.addr)).toString(16)} T kprobe_target`;
    assert.ok(r.text.split('\n').includes(line), line);
  }
  assert.equal(v.write('/proc/kallsyms', 'x', { truncate: true }), { ok: false, errno: -13 });
});

test.run();
