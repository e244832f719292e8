// docs/ARCHITECTURE.md stays true to the tree: every path it names exists, and every file under src/ is
// named in it (by its path, or by its name in a paragraph or list item that names its folder).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../src/paths.js';

const doc = readFileSync(join(ROOT, 'docs', 'ARCHITECTURE.md'), 'utf8');
const code = (text: string) => [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
const PATH = /^(src|test|fixtures|scripts|bench|bin|docs)\/[\w./-]*$/;

function srcFiles(dir = join(ROOT, 'src')): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? srcFiles(p) : [relative(ROOT, p)];
  });
}

test('every path the page names exists', () => {
  const missing = code(doc).filter((c) => PATH.test(c) && !/NAME/.test(c) && !existsSync(join(ROOT, c)));
  assert.equal(missing, [], 'named in docs/ARCHITECTURE.md but not in the tree');
});

test('every file under src/ is named on the page', () => {
  const named = new Set<string>();
  // A paragraph or list item: the folders it names (src/X/ or the folder of a src/X/F it names) are the
  // context of the bare names in it (`bytes.ts`, `runtime/bytes.ts`).
  let heading: string[] = [];
  for (const block of doc.split(/\n(?=\s*\n|- |\d+\. |\| |#)/)) {
    const names = code(block);
    const mentioned = [...block.matchAll(/\bsrc\/[\w./-]*/g)].map((m) => m[0].replace(/[.]$/, ''));
    if (/^\s*#/.test(block)) heading = mentioned;
    const dirs = new Set<string>(['src']);
    for (const c of [...heading, ...mentioned]) {
      named.add(c);
      const full = join(ROOT, c);
      dirs.add(c.endsWith('/') ? c.slice(0, -1) : existsSync(full) && statSync(full).isDirectory() ? c : c.replace(/\/[^/]*$/, ''));
    }
    for (const d of [...dirs]) for (let up = d; up.includes('/'); up = up.replace(/\/[^/]*$/, '')) dirs.add(up);
    // Folders named relative to those (`commands/`, `workload/`, `base/`): their files' names count too.
    for (const f of names.filter((c) => /^[\w/-]+\/$/.test(c))) for (const d of [...dirs]) dirs.add(`${d}/${f.slice(0, -1)}`);
    for (const c of names) for (const part of c.split(/[\s,()]+/)) for (const d of dirs) named.add(`${d}/${part}`);
  }
  const unnamed = srcFiles().filter((f) => !named.has(f));
  assert.equal(unnamed, [], 'src/ files docs/ARCHITECTURE.md does not name (add them where they belong, or to its index of the other files)');
});

test.run();
