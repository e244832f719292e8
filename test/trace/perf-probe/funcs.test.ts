import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fixtureImage } from '../../elf/fixture.js';
import { perfFunctionList, perfFunctionNameList, perfFunctionNames, perfFunctionSymbols, sortPerfFunctions } from '../../../src/trace/perf-probe/funcs.js';

// perf's own list for the fixture is compared in perf-oracle.test.ts; the real image's in perf-oracle-real.test.ts.
const img = fixtureImage();

test('perf --funcs symbols: functions and labels of .text only, with names', () => {
  const syms = perfFunctionSymbols(img);
  assert.ok(syms.length > 10);
  for (const s of syms) {
    assert.ok(s.name !== '' && ['FUNC', 'IFUNC', 'NOTYPE'].includes(s.type), s.name);
    assert.is(img.sections[s.shndx]!.name, '.text', s.name);
  }
  // Every FUNC symbol of .text is there.
  const text = img.symbols.filter((s) => s.type === 'FUNC' && s.name && img.sections[s.shndx]?.name === '.text');
  assert.equal(new Set(text.map((s) => s.index)), new Set(syms.filter((s) => s.type === 'FUNC').map((s) => s.index)));
});

test('sorted by name then address; the default filter hides _* and *@plt names', () => {
  const all = perfFunctionList(img, () => true);
  for (let i = 1; i < all.length; i++) {
    const a = all[i - 1]!, b = all[i]!;
    assert.ok(a.name < b.name || (a.name === b.name && a.addr <= b.addr), `${a.name} before ${b.name}`);
  }
  assert.equal(all.map((s) => s.index), sortPerfFunctions(perfFunctionSymbols(img)).map((s) => s.index));
  const names = perfFunctionNames(img);
  assert.equal(names, all.map((s) => s.name).filter((n) => !n.startsWith('_') && !n.endsWith('@plt')));
  assert.equal(perfFunctionNameList(img, Uint32Array.from(all, (s) => s.index)), all.map((s) => s.name));
});

test.run();
