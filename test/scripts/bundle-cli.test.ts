// scripts/bundle-cli.mjs: the build refuses a module whose top-level bindings clash with the CommonJS
// loader's parameters (module, exports, require, __filename, __dirname, ...): as CommonJS such a module
// breaks bin/ktrace (a `let module` is a SyntaxError when first required) while the ES modules run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { runInThisContext } from 'node:vm';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../../src/paths.js';

const SCRIPT = join(ROOT, 'scripts', 'bundle-cli.mjs');
type Clash = { name: string; line: number };
const { loaderClashes, prepareIced } = await import(pathToFileURL(SCRIPT).href) as { loaderClashes: (text: string) => Clash[]; prepareIced: (text: string) => { glue: string; enums: string } };

test('top-level declarations of the loader\'s names are found, with their lines', () => {
  assert.equal(loaderClashes('let module = null;\nexport const x = 1;'), [{ name: 'module', line: 1 }]);
  assert.equal(loaderClashes('const a = 1;\nvar { exports, b: [require] } = o;\nfunction __dirname() {}\nclass __filename {}'),
    [{ name: 'exports', line: 2 }, { name: 'require', line: 2 }, { name: '__dirname', line: 3 }, { name: '__filename', line: 4 }]);
  assert.equal(loaderClashes("import module from 'm';\nimport * as exports from 'e';\nimport { a as require } from 'r';").map((c) => c.name), ['module', 'exports', 'require']);
});

test('inside functions and blocks, as properties, or as uses: no clash', () => {
  assert.equal(loaderClashes('function f() { let module = 1; return module; }\n{ let exports = 2; }\nconst o = { module: 1, require: 2 };\nconst r = createRequire(import.meta.url);\nexport { r as require };'), []);
});

test('npm run build fails with one line naming the file and the binding; a clean graph builds', () => {
  const dist = mkdtempSync(join(tmpdir(), 'ktrace-bundle-'));
  try {
    mkdirSync(join(dist, 'src', 'cli'), { recursive: true });
    writeFileSync(join(dist, 'src', 'cli', 'main.js'), "import { x } from './x.js';\nconsole.log(x);\n");
    writeFileSync(join(dist, 'src', 'cli', 'x.js'), "export const x = 1;\n");
    const ok = spawnSync(process.execPath, [SCRIPT, dist], { encoding: 'utf8' });
    assert.is(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /^bundle-cli: 2 modules -> /);
    writeFileSync(join(dist, 'src', 'cli', 'x.js'), "import { createRequire } from 'node:module';\n\nlet module = null;\nexport const x = 1;\n");
    const bad = spawnSync(process.execPath, [SCRIPT, dist], { encoding: 'utf8' });
    assert.is(bad.status, 1);
    const lines = bad.stderr.trimEnd().split('\n');
    assert.is(lines.length, 1, bad.stderr);
    assert.match(lines[0]!, /^bundle-cli: .*src\/cli\/x\.js:3: a top-level binding named 'module' clashes with the CommonJS loader's own \(.*\): rename it/);
  } finally {
    rmSync(dist, { recursive: true, force: true });
  }
});

// The loader runs iced-x86's glue prepared (enums built when first read, the WebAssembly module its
// own): the same exports in the same order, every enum the same frozen object, the same decoding and
// formatting as the package; a text of another shape is refused (the loader then loads the package).
test('prepareIced: the same module as iced-x86, enums built on first read', () => {
  const require = createRequire(join(ROOT, 'package.json'));
  const main = require.resolve('iced-x86');
  const pkg = require('iced-x86') as Record<string, unknown>;
  const text = readFileSync(main, 'utf8');
  const prepared = prepareIced(text);
  assert.ok(prepared.glue.length < text.length / 3, 'no JSDoc, no big enum literal in the glue');
  let compiled = 0, sideReads = 0;
  const wasm = () => { compiled++; return new WebAssembly.Module(readFileSync(join(dirname(main), 'iced_x86_bg.wasm'))); };
  let side: Record<string, () => object> | undefined;
  const enums = () => { if (!side) { sideReads++; side = runInThisContext(prepared.enums) as Record<string, () => object>; } return side; };
  const fn = runInThisContext(`(function (exports, require, module, __filename, __dirname, __icedWasm, __icedEnums) { ${prepared.glue}\n})`) as Function;
  const m = { exports: {} as Record<string, unknown> };
  fn.call(m.exports, m.exports, require, m, main, dirname(main), wasm, enums);
  assert.is(compiled, 1, 'the WebAssembly module is the loader\'s');
  assert.is(sideReads, 0, 'the side file is read only when a big enum is');
  const ours = m.exports;
  assert.equal(Object.keys(ours), Object.keys(pkg), 'the same exports, in order');
  const code = Object.getOwnPropertyDescriptor(ours, 'Code')!;
  assert.ok(typeof code.get === 'function' && code.enumerable, 'an enum is a getter until read');
  let count = 0;
  for (const k of Object.keys(pkg)) {
    const a = pkg[k], b = ours[k];
    if (typeof a === 'object' && a !== null && Object.isFrozen(a) && !('__wasm' === k)) {
      count++;
      assert.equal(Object.entries(b as object), Object.entries(a), `enum ${k}`);
      assert.ok(Object.isFrozen(b), `${k} frozen`);
      assert.ok(ours[k] === b, `${k}: one object once read`);
      assert.is(typeof Object.getOwnPropertyDescriptor(ours, k)!.get, 'undefined', `${k} a value once read`);
    }
  }
  assert.ok(count >= 20, `${count} enums compared`);
  assert.is(sideReads, 1, 'the side file read once');
  // Decoding and formatting: every byte pattern of a small kernel-like sample, both modules, the same text.
  const bytes = Uint8Array.from(Buffer.from('f30f1efae8000000005541574156488b87a80000004885c07405ff d0c3 66 0f 1f 44 00 00 0f0b 48b8efcdab8967452301 d1e8 c3'.replace(/ /g, ''), 'hex'));
  const listing = (ic: any) => {
    const d = new ic.Decoder(64, bytes, 0), f = new ic.Formatter(ic.FormatterSyntax.Gas), ins = new ic.Instruction();
    d.ip = 0xffffffff81000000n;
    const out: string[] = [];
    while (d.canDecode) { d.decodeOut(ins); out.push(`${ins.code} ${ins.length} ${f.format(ins)}`); }
    ins.free(); f.free(); d.free();
    return out;
  };
  assert.equal(listing(ours), listing(pkg));
  assert.throws(() => prepareIced(text.replace("readFileSync(path)", "readFileSync(p)")), /not loaded as iced-x86 1\.x/);
});

test.run();
