import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Image } from '../../src/elf/image.js';
import { bootProblems } from '../../src/kernel/bootable.js';
import { fixtureBytes } from '../elf/fixture.js';

test('the fixture can boot; an entry point outside the loaded code (a distribution kernel) cannot, and says what works instead', () => {
  assert.equal(bootProblems(Image.load(fixtureBytes())), []);
  const b = new Uint8Array(fixtureBytes());
  new DataView(b.buffer).setBigUint64(24, 0x1000000n, true);
  const p = bootProblems(Image.load(b));
  assert.is(p.length, 1);
  assert.match(p[0]!, /^its entry point 0x1000000 is not in loaded code \(a distribution kernel is entered through a boot loader at a physical address; the static commands .* work on it\)$/);
});

test.run();
