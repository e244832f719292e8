// scripts/bundle-cli.mjs: the build refuses a module whose top-level bindings clash with the CommonJS
// loader's parameters (module, exports, require, __filename, __dirname, ...): as CommonJS such a module
// breaks bin/ktrace (a `let module` is a SyntaxError when first required) while the ES modules run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../../src/paths.js';

const SCRIPT = join(ROOT, 'scripts', 'bundle-cli.mjs');
type Clash = { name: string; line: number };
const { loaderClashes } = await import(pathToFileURL(SCRIPT).href) as { loaderClashes: (text: string) => Clash[] };

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

test.run();
