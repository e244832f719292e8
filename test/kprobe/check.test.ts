import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addressRefusal, resolveKprobeAddr, type ProbeSite } from '../../src/kprobe/check.js';
import { EINVAL, ENOENT } from '../../src/base/errno.js';
import { fixtureImage } from '../elf/fixture.js';

const image = fixtureImage();
const site: ProbeSite = {
  lookupName: (n) => image.lookupName(n), lookupAddr: (a) => image.lookupAddr(a), formatAddr: (a) => image.formatAddr(a),
  isKernelText: (a) => image.isText(a), inKprobeBlacklist: (a) => image.inKprobeBlacklist(a),
};

test('resolveKprobeAddr: symbol+offset or address, which a symbol must cover (_kprobe_addr)', () => {
  const t = image.lookupName('kprobe_target')!;
  assert.equal(resolveKprobeAddr(site, 'kprobe_target', undefined, 4), { ok: true, addr: t + 4 });
  assert.equal(resolveKprobeAddr(site, undefined, t, 0), { ok: true, addr: t });
  assert.is((resolveKprobeAddr(site, 'no_such_function_here', undefined, 0) as { errno: number }).errno, ENOENT);
  assert.is((resolveKprobeAddr(site, undefined, 0x1000, 0) as { errno: number }).errno, ENOENT);
  assert.ok(resolveKprobeAddr({ ...site, isInternal: (a) => a === 0x1000 }, undefined, 0x1000, 0).ok, 'kprobes-internal text counts as covered');
});

test('addressRefusal: check_kprobe_address_safe (text, internal, blacklist)', () => {
  const t = image.lookupName('kprobe_target')!;
  assert.is(addressRefusal(site, t), undefined);
  const bl = image.kprobeBlacklist[0]!;
  assert.equal(addressRefusal(site, bl.start)?.errno, EINVAL);
  assert.match(addressRefusal(site, bl.start)!.reason, /blacklist/);
  assert.match(addressRefusal(site, image.symbolAddr('boot_params')!)!.reason, /not kernel text/);
  assert.match(addressRefusal({ ...site, isInternal: (a) => a === t }, t)!.reason, /kprobes-internal/);
});

test.run();
