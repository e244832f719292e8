// docs/ARCHITECTURE.md stays true to the tree: every path it names exists, and every file under src/ is
// named in it (by its path, or by its name in a paragraph or list item that names its folder). And the
// layering it describes has no import cycle among src/'s modules.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
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

/** The src/ files a module imports statically (type-only imports too: a cycle of types is a tangle as well). */
function imports(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.[^'"]+)['"]/gm)) {
    const target = relative(ROOT, resolve(dirname(join(ROOT, file)), m[1]!)).replace(/\.js$/, '.ts');
    out.push(existsSync(join(ROOT, target)) ? target : target.replace(/\.ts$/, '.tsx'));
  }
  return out;
}

test('no import cycles among src/ modules', () => {
  const files = srcFiles().filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'));
  const graph = new Map(files.map((f) => [f, imports(f)]));
  // Tarjan's strongly connected components: any with two or more modules (or a self-import) is a cycle.
  let next = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next); low.set(v, next); next++; stack.push(v); on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); c.push(w); } while (w !== v);
      if (c.length > 1 || graph.get(v)!.includes(v)) cycles.push(c);
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  assert.ok(files.length > 100 && [...graph.values()].flat().length > 300, 'the import graph was read');
  assert.equal(cycles, [], 'import cycles');
});

test('only the CLI imports the CLI: no module outside src/cli (the library included) depends on it', () => {
  const files = srcFiles().filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts') && !f.startsWith('src/cli/'));
  const upward = files.flatMap((f) => imports(f).filter((t) => t.startsWith('src/cli/')).map((t) => `${f} -> ${t}`));
  assert.ok(files.length > 100, 'the src/ files were read');
  assert.equal(upward, [], 'imports of src/cli from outside it');
});

test.run();
