import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ktrace } from './run.js';
import { resolveTarget } from '../../src/cli/actions/disasm.js';
import { fixtureImage, oracle, oracleStale, parseObjdump } from '../elf/fixture.js';

const img = fixtureImage();
const fn = (n: string) => img.functions.find((f) => f.name === n)!;
const hx = (a: number) => BigInt.asUintN(64, BigInt(a)).toString(16);

test('resolveTarget: FUNC, FUNC+OFF, addresses, errors', () => {
  const f = fn('vfs_read');
  assert.equal(resolveTarget(img, 'vfs_read'), { start: f.addr, end: f.addr + f.size });
  assert.equal(resolveTarget(img, 'vfs_read+0x4'), { start: f.addr + 4, end: f.addr + f.size });
  assert.equal(resolveTarget(img, 'vfs_read+4'), { start: f.addr + 4, end: f.addr + f.size });
  assert.equal(resolveTarget(img, '0x' + hx(f.addr + 5)), { start: f.addr + 5, end: f.addr + f.size });
  assert.equal(resolveTarget(img, hx(f.addr)), { start: f.addr, end: f.addr + f.size });
  assert.match(resolveTarget(img, 'nope_not_here') as string, /no symbol 'nope_not_here'/);
  // A label inside an assembly function: from the label to the end of the enclosing function.
  const label = img.symbol('entry_SYSCALL_64_after_hwframe'), entry = fn('entry_SYSCALL_64');
  if (label) assert.equal(resolveTarget(img, 'entry_SYSCALL_64_after_hwframe'), { start: label.addr, end: entry.addr + entry.size });
  assert.match(resolveTarget(img, `vfs_read+0x${f.size.toString(16)}`) as string, /beyond the end/);
  assert.match(resolveTarget(img, '0x10') as string, /no function at 0x10/);
  assert.match(resolveTarget(img, 'a b') as string, /cannot parse/);
});

test('ktrace disasm FUNC prints objdump --disassemble=FUNC text', () => {
  const stale = oracleStale();
  if (stale) assert.unreachable(stale);
  const listing = parseObjdump(oracle('objdump-d'));
  for (const name of ['vfs_read', 'kprobe_target', 'entry_SYSCALL_64']) {
    const f = fn(name);
    const r = ktrace(['disasm', name]);
    assert.is(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.is(lines[0], `${hx(f.addr).padStart(16, '0')} <${name}>:`);
    const start = BigInt('0x' + hx(f.addr)), end = start + BigInt(f.size);
    const want = listing.order.filter((a) => { const v = BigInt('0x' + a); return v >= start && v < end; })
      .flatMap((a) => listing.insns.get(a)!.lines);
    assert.equal(lines.slice(1), want, name);
  }
});

test('--intel, FUNC+OFF header, and errors', () => {
  const intel = ktrace(['disasm', '--intel', 'kprobe_target']);
  assert.is(intel.code, 0);
  assert.match(intel.stdout, /\tret/);
  assert.not.match(intel.stdout, /%/);
  const off = ktrace(['disasm', 'vfs_read+0x4']);
  assert.match(off.stdout.split('\n')[0]!, /^[0-9a-f]{16} <vfs_read\+0x4>:$/);
  const missing = ktrace(['disasm', 'nope_not_here']);
  assert.is(missing.code, 1);
  assert.is(missing.stderr, "ktrace: disasm: no symbol 'nope_not_here' in the image\n");
});

test.run();
