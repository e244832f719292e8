import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { imageResolver } from '../../../src/trace/kprobe-events/resolver.js';
import { parseKprobeCommand } from '../../../src/trace/kprobe-events/probe.js';
import { showProbe } from '../../../src/trace/kprobe-events/show.js';
import { fixtureImage } from '../../elf/fixture.js';

test('on the fixture kernel: symbols, entries, the self-test target', () => {
  const image = fixtureImage();
  const res = imageResolver(image);
  const at = res.lookup('vfs_read');
  assert.ok(at !== undefined);
  assert.is(res.count('vfs_read'), 1);
  assert.is(res.count('no_such_symbol_here'), 0);
  assert.ok(res.isFunctionEntry(at!, 0));
  assert.not.ok(res.isFunctionEntry(at!, 1));
  const r = parseKprobeCommand('p:testprobe kprobe_trace_selftest_target $stack $stack0 +0($stack)', res);
  assert.ok(r.ok && r.command.kind === 'create');
  if (r.ok && r.command.kind === 'create') {
    assert.is(showProbe(r.command.probe), 'p:kprobes/testprobe kprobe_trace_selftest_target arg1=$stack arg2=$stack0 arg3=+0($stack)');
    assert.ok(r.command.probe.flags.fentry);
  }
  const rr = parseKprobeCommand('r:testprobe2 kprobe_trace_selftest_target $retval', res);
  assert.ok(rr.ok && rr.command.kind === 'create' && showProbe(rr.command.probe) === 'r:kprobes/testprobe2 kprobe_trace_selftest_target arg1=$retval');
  const bad = parseKprobeCommand('r vfs_read+1', res);
  assert.ok(!bad.ok && bad.err?.code === 'BAD_RETPROBE');
});

test('ENDBR64 makes offset 4 a function entry too', () => {
  const bytes = new Map<number, Uint8Array>([[0x1000, new Uint8Array([0xf3, 0x0f, 0x1e, 0xfa])], [0x2000, new Uint8Array([0x55, 0x48, 0x89, 0xe5])]]);
  const res = imageResolver({
    lookupName: () => undefined,
    kallsyms: { count: (n) => ['a', 'a', 'b'].filter((x) => x === n).length },
    read: (addr) => bytes.get(addr),
  });
  assert.ok(res.isFunctionEntry(0x1000, 4));
  assert.ok(res.isFunctionEntry(0x1000, 0));
  assert.not.ok(res.isFunctionEntry(0x1000, 8));
  assert.not.ok(res.isFunctionEntry(0x2000, 4));
  assert.is(res.count('a'), 2);
});

test.run();
