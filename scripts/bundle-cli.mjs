#!/usr/bin/env node
// The compiled CLI (dist/src/**/*.js, ES modules as tsc wrote them) as CommonJS for bin/ktrace:
// dist/cli-cjs/ holds each module's CommonJS text, dist/cli.cjs a loader with the module graph
// resolved here (file names, each import's target). Node 20's ES module loader spends ~30 ms more
// resolving, reading (on its thread pool) and linking the ~50 modules a static query such as
// `ktrace vars` loads than this loader does reading and compiling them. Each module keeps its own
// scope (evaluated on first use, in dependency order, as Node evaluates ES modules without cycles)
// and its own import.meta.url (its file under dist/src), so paths and caches keyed by source files
// are the same either way. Every module reachable from main.js is covered, so a process has one copy
// of each (classes stay one class). Packages are loaded by Node as before: require() for a static
// import, import() for a dynamic one (an ES-only package with top-level await that a module imports
// statically, such as ink, is imported before that module runs). The ESM-to-CommonJS transform is
// TypeScript's own (transpileModule); import() of a relative file becomes the loader's __import.
import { readFileSync, writeFileSync, renameSync, existsSync, rmSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';

const require = createRequire(import.meta.url);
const ts = require('typescript');

/** The loader's parameters: every module runs as a function of these (see PARAMS in the loader below). */
export const LOADER_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname', '__importMetaUrl', '__import', '__dynamicImport'];

/**
 * The top-level bindings of an ES module's text that would clash with the loader's parameters: as
 * CommonJS the module's body runs inside a function of them, where `let module` is a SyntaxError when
 * the module is first required (bin/ktrace fails, while the ES modules run) and `var module` or
 * `function require` silently replaces the loader's. Names with the line of their declaration.
 */
export function loaderClashes(text, fileName = 'module.js') {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const found = [];
  const add = (id) => {
    if (id && ts.isIdentifier(id) && LOADER_PARAMS.includes(id.text)) {
      found.push({ name: id.text, line: sf.getLineAndCharacterOfPosition(id.getStart(sf)).line + 1 });
    }
  };
  const binding = (n) => {
    if (ts.isIdentifier(n)) add(n);
    else if (ts.isObjectBindingPattern(n) || ts.isArrayBindingPattern(n)) {
      for (const e of n.elements) if (!ts.isOmittedExpression(e)) binding(e.name);
    }
  };
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) binding(d.name);
    else if (ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isEnumDeclaration(st) || ts.isModuleDeclaration(st)) add(st.name);
    else if (ts.isImportEqualsDeclaration(st)) add(st.name);
    else if (ts.isImportDeclaration(st) && st.importClause) {
      const c = st.importClause;
      add(c.name);
      if (c.namedBindings && ts.isNamespaceImport(c.namedBindings)) add(c.namedBindings.name);
      else if (c.namedBindings) for (const e of c.namedBindings.elements) add(e.name);
    }
  }
  return found;
}

/** The end of iced-x86's module (wasm-bindgen's CommonJS glue): the file read and compiled there. */
const ICED_WASM_LOAD = "const path = require('path').join(__dirname, 'iced_x86_bg.wasm');\nconst bytes = require('fs').readFileSync(path);\n\nconst wasmModule = new WebAssembly.Module(bytes);\n";
const ICED_ENUM = /^module\.exports\.([A-Za-z_$][\w$]*) = Object\.freeze\(\{([^]*?)\}\);$/gm;
/** A JSDoc block on lines of its own (wasm-bindgen writes no other comments). */
const JSDOC = /^[ \t]*\/\*\*[^]*?\*\/[ \t]*\n/gm;
/** Enum literals longer than this go to the side file (Code, Mnemonic, Register, ...); shorter ones stay. */
const ICED_ENUM_INLINE = 2048;

/**
 * iced-x86's JavaScript (iced_x86.js, 0.9 MB) as bin/ktrace's loader runs it, the same module but for
 * what a short command pays for at every start:
 *  - its ~40 enums (Code alone has ~4,900 members) are built when first read, not when the module
 *    loads: each `module.exports.X = Object.freeze({...});` becomes a getter that evaluates that very
 *    object literal once and puts it in its place (same keys, same order, same frozen object). The
 *    big literals live in a side file (`enums`: an object of functions, one an enum), read and compiled
 *    only when one of them is first read: ktrace takes the numbers from emu/iced-enums.ts, so a
 *    disassembly reads none of them;
 *  - its JSDoc comments are left out (the glue is 0.2 MB to read instead of 0.9);
 *  - the WebAssembly module is the loader's (a parameter, `__icedWasm()`), which checks that the
 *    .wasm file is the one this text was made beside before the glue runs; `__icedEnums()` gives the
 *    side file's functions.
 * Throws when the text is not shaped as expected (another iced-x86): the loader then loads the package.
 */
export function prepareIced(text) {
  if (!text.includes(ICED_WASM_LOAD)) throw new Error('its WebAssembly is not loaded as iced-x86 1.x loads it');
  const big = [];
  const glue = text.replace(JSDOC, '').replace(ICED_ENUM, (_m, name, body) => {
    const key = JSON.stringify(name);
    const make = body.length > ICED_ENUM_INLINE ? `__icedEnums()[${key}]()` : `{${body}}`;
    if (body.length > ICED_ENUM_INLINE) big.push(`${key}: () => ({${body}}),`);
    return `Object.defineProperty(module.exports, ${key}, { configurable: true, enumerable: true, get() { const v = Object.freeze(${make}); Object.defineProperty(module.exports, ${key}, { value: v }); return v; } });`;
  }).replace(ICED_WASM_LOAD, 'const wasmModule = __icedWasm();\n');
  const n = (glue.match(/get\(\) \{ const v = Object\.freeze\(/g) ?? []).length;
  if (n < 20 || big.length === 0) throw new Error(`${n} enums where iced-x86 1.x has ~40`);
  return { glue, enums: `({\n${big.join('\n')}\n})` };
}

/** Run as a script (npm run build), not when a test imports loaderClashes. */
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) await bundle();

// The build (kept at the left margin: the loader text below is a template literal).
async function bundle() {
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const dist = resolve(root, process.argv[2] || 'dist');
const src = join(dist, 'src');
const entry = join(src, 'cli', 'main.js');

/** Packages that require() cannot load (ES modules with top-level await): imported, then handed over. */
function needsImport(pkg) {
  try {
    const pj = JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`, { paths: [src] }), 'utf8'));
    return pj.type === 'module';
  } catch {
    return false;
  }
}

/** Whether a module awaits outside any function (an await or for await in its own body). */
function hasTopLevelAwait(sf) {
  let found = false;
  const visit = (n) => {
    if (found || ts.isFunctionLike(n) || ts.isClassLike(n)) return;
    if (ts.isAwaitExpression(n) || (ts.isForOfStatement(n) && n.awaitModifier)) { found = true; return; }
    ts.forEachChild(n, visit);
  };
  ts.forEachChild(sf, visit);
  return found;
}

const modules = new Map(); // absolute path -> { id, code, deps: ids (static), bare: [pkg] (static) }
const order = [];
function add(file) {
  if (modules.has(file)) return modules.get(file).id;
  const id = order.length;
  const m = { id, file, code: '', deps: [], bare: [] };
  modules.set(file, m);
  order.push(m);
  let text = readFileSync(file, 'utf8');
  for (const c of loaderClashes(text, file)) clashes.push(`${relative(root, file)}:${c.line}: a top-level binding named '${c.name}'`);
  const info = ts.preProcessFile(text, true, true);
  // Dynamic imports of relative files become __import(id): asynchronous (a preload may be needed), in the bundle.
  const edits = [];
  const specs = {};
  for (const f of info.importedFiles) {
    const spec = f.fileName;
    const before = text.slice(0, f.pos); // f.pos: the opening quote
    const dyn = /\bimport\s*\(\s*$/.exec(before);
    if (spec.startsWith('.')) {
      const target = resolve(dirname(file), spec);
      if (!existsSync(target)) throw new Error(`${relative(root, file)}: cannot resolve ${spec}`);
      if (dyn) edits.push({ from: dyn.index, to: f.end + 1, target, dynamic: true });
      else { m.deps.push(target); specs[spec] = target; }
    } else if (!spec.startsWith('node:') && !dyn) {
      m.bare.push(spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/'));
    }
  }
  edits.sort((a, b) => b.from - a.from);
  for (const e of edits) {
    // `import('./x.js')` -> `__import(ID)` (the closing parenthesis kept by the original text).
    const close = text.indexOf(')', e.to - 1);
    text = `${text.slice(0, e.from)}__import(${add(e.target)}${text.slice(close)}`;
  }
  // Any other import() (a package, node:, a file URL) stays a real dynamic import: TypeScript would
  // turn it into require(), which cannot load an ES module nor take a URL.
  text = text.replace(/(^|[^.\w$])import\s*\(/g, '$1__dynamicImport(');
  text = text.replace(/\bimport\.meta\.url\b/g, '__importMetaUrl');
  if (/\bimport\.meta\b/.test(text)) throw new Error(`${relative(root, file)}: import.meta other than .url`);
  const out = ts.transpileModule(text, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false, removeComments: false },
  });
  const errors = (out.diagnostics ?? []).filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length) throw new Error(`${relative(root, file)}: ${ts.flattenDiagnosticMessageText(errors[0].messageText, '\n')}`);
  let code = out.outputText.replace(/\n\/\/# sourceMappingURL=.*$/m, '');
  // A module with top-level await (main.js: its evaluation is the whole command) runs as an async
  // function, awaited by load(); anywhere else its importers would run before it finished.
  m.async = hasTopLevelAwait(ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false));
  if (m.async && id !== 0) throw new Error(`${relative(root, file)}: top-level await outside the entry module`);
  m.deps = m.deps.map((t) => add(t));
  m.specs = Object.fromEntries(Object.entries(specs).map(([k, t]) => [k, add(t)]));
  m.code = code;
  return id;
}
const clashes = [];
add(entry);
if (clashes.length) {
  // One line each, no stack: the build fails here rather than bin/ktrace when it first loads the module.
  for (const c of clashes) console.error(`bundle-cli: ${c} clashes with the CommonJS loader's own (${LOADER_PARAMS.join(', ')}): rename it (the module's source is under src/)`);
  process.exit(1);
}

// What names the code cache: the modules' text, and the commands (the entry per command).
const bundleHash = createHash('sha256').update(JSON.stringify(order.map((m) => [relative(src, m.file), m.code]))).digest('hex').slice(0, 16);
const commandNames = order.map((m) => relative(src, m.file)).filter((f) => /^cli\/commands\/[a-z]+\.js$/.test(f)).map((f) => f.slice('cli/commands/'.length, -3)).sort();

// Static dependencies by id, for the preload closure of a dynamic import.
const lines = [];
lines.push('"use strict";');
lines.push('// Generated by scripts/bundle-cli.mjs from dist/src (npm run build): do not edit.');
lines.push('const { createRequire } = require("node:module");');
lines.push('const { pathToFileURL } = require("node:url");');
lines.push(`const PARAMS = ${JSON.stringify(LOADER_PARAMS)};`);
lines.push('const dynamicImport = (spec) => import(spec);');
lines.push('const { readFileSync } = require("node:fs");');
lines.push('const { join } = require("node:path");');
lines.push(`const SRC = join(__dirname, "src") + "/", CJS = join(__dirname, "cli-cjs") + "/";`);
lines.push(`const FILES = ${JSON.stringify(order.map((m) => relative(src, m.file)))};`);
lines.push(`const DEPS = ${JSON.stringify(order.map((m) => m.deps))};`);
lines.push(`const SPECS = ${JSON.stringify(order.map((m) => m.specs))};`);
lines.push(`const USES_URL = ${JSON.stringify(order.map((m) => (/__importMetaUrl/.test(m.code) ? 1 : 0)))};`);
lines.push(`const ASYNC_EVAL = ${JSON.stringify(order.map((m) => (m.async ? 1 : 0)))};`);
lines.push(`const BUNDLE = ${JSON.stringify(bundleHash)};`);
lines.push(`const COMMAND_NAMES = ${JSON.stringify(commandNames)};`);
lines.push(`const EMU = ${JSON.stringify(order.map((m) => (/^emu\/(?!iced(-enums)?\.js$)/.test(relative(src, m.file)) ? 1 : 0)))};`);
lines.push(`const CACHE_MODULE = ${JSON.stringify(order.findIndex((m) => relative(src, m.file) === 'cache.js'))};`);
lines.push(`const { Script } = require("node:vm");
// ---- ktrace's own compiled code across runs: V8's code cache of each module a command compiled (taken
// at exit, so it holds the functions the command ran, not only the modules' top levels), one cache entry
// per command (src/cache.ts: kind "v8", keyed by this bundle's content, Node's version and flags;
// checksummed, written atomically; V8 itself rejects data for another source or V8). Packages' CommonJS
// files (iced-x86's 0.9 MB of JavaScript) are compiled through it too, each kept with a hash of its
// text (V8's own check is the source's length only). A rejected, missing or partial entry is rewritten
// at exit; KTRACE_NO_CACHE=1 or KTRACE_CODE_CACHE=0: none.
// V8 rejects cached data made under other V8 flags (their hash is in the data). Flags set while a
// command runs (the emulator's, when its first module loads) would make every script compiled before
// them rejected on the next run: the entry records the flags its run set, and the next run of the
// command sets them first, before it compiles anything from the entry.
const compiled = []; // [name ("m" + module id, or a package file's path), vm.Script, text hash or ""] in compile order
let emuFlagsSet = false;
const v8FlagsSet = []; // V8 flags this run set (setV8Flags), in order
/** Sets V8 flags (once each), noting them for the code cache entry. */
function setV8Flags(flags) {
  if (!flags || v8FlagsSet.includes(flags)) return;
  v8SetFlags(flags);
  v8FlagsSet.push(flags);
}
let v8SetFlagsFn;
/**
 * V8's setFlagsFromString. node:v8 loads node:stream and ~20 modules with it (~2 ms of a static
 * query); its setFlagsFromString calls the v8 binding's after checking the argument is a string,
 * so the binding's is taken when it is that function. process.binding("v8") warns once (DEP0111):
 * deprecation warnings are off for that one call. node:v8's where the binding is not there.
 */
function v8SetFlags(flags) {
  if (!v8SetFlagsFn) {
    const was = process.noDeprecation;
    try {
      process.noDeprecation = true;
      const f = process.binding("v8").setFlagsFromString;
      if (typeof f === "function") v8SetFlagsFn = f;
    } catch { /* no such binding */ } finally {
      process.noDeprecation = was;
    }
    v8SetFlagsFn ??= require("node:v8").setFlagsFromString;
  }
  v8SetFlagsFn(String(flags));
}
// V8 flags of a command, set before its first module is compiled.
//  - the static queries: TurboFan only for code 15x hotter than V8's default (--interrupt-budget): a
//    query of ~0.1 s queued optimizing compiles that cost more than they saved, and the process waited
//    for them at exit (Debian vmlinux, paired: warm line x0.69 CPU, vars x0.90 and 48 MB instead of 53,
//    cold line x0.80; a long one, funcs without an index, unchanged: with --no-opt it took x1.66);
//  - disasm also runs iced-x86's WebAssembly with the baseline compiler only (--liftoff-only): the
//    formatter's set-up and a few hundred instructions, which the optimizing tier compiled at more cost
//    than it saved (the command ~0.65x CPU); disasm never runs the emulator, whose own WebAssembly needs it.
const SHORT = "--interrupt-budget=1000000";
const COMMAND_V8_FLAGS = { disasm: ["--liftoff-only", SHORT], vars: [SHORT], line: [SHORT], funcs: [SHORT], add: [SHORT] };
let commandFlagsSet = false;
function setCommandFlags() {
  if (commandFlagsSet) return;
  commandFlagsSet = true;
  for (const f of COMMAND_V8_FLAGS[commandOf(process.argv.slice(2))] || []) setV8Flags(f);
}
let codeCache; // undefined: not opened yet; null: off
/** The command the arguments name (perf's action options as their command), for the entry's name. */
function commandOf(argv) {
  const actions = { "-a": "add", "--add": "add", "-D": "add", "--definition": "add", "-V": "vars", "--vars": "vars", "-L": "line", "--line": "line", "-F": "funcs", "--funcs": "funcs", "-d": "del", "--del": "del", "-l": "list", "--list": "list" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-k" || a === "--vmlinux" || a === "--state" || a === "--color") { i++; continue; }
    if (COMMAND_NAMES.includes(a)) return a;
    if (actions[a]) return actions[a];
  }
  return "other";
}
function openCodeCache() {
  codeCache = null;
  const env = process.env;
  if (env.KTRACE_CODE_CACHE === "0" || CACHE_MODULE < 0) return;
  const cache = req(CACHE_MODULE);
  if (!cache.cacheEnabled(env)) return;
  // V8 checks its own version and flags too; they are in the name so that two set-ups keep one entry each.
  let h = 0;
  for (const c of process.execArgv.join(" ")) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  const name = BUNDLE + "-" + process.version + "-" + (h >>> 0).toString(36) + "-" + commandOf(process.argv.slice(2));
  const key = BUNDLE + " " + process.version + " " + process.arch + " " + process.execArgv.join(" ");
  const state = { cache, name, key, entries: new Map(), status: 0, dirty: true, flags: [] };
  const payload = cache.readCache("v8", name, key, env);
  if (payload) {
    // KTV9, the exit status of the run that wrote it, JSON { flags: the V8 flags that run set, scripts:
    // [name, text hash, length] }, the data.
    try {
      if (payload.readUInt32LE(0) !== 0x3956544b) throw new Error("magic");
      state.status = payload.readUInt32LE(4);
      const jsonEnd = 12 + payload.readUInt32LE(8);
      let at = jsonEnd;
      const { flags, scripts } = JSON.parse(payload.toString("utf8", 12, jsonEnd));
      if (!Array.isArray(flags) || !flags.every((f) => typeof f === "string" && /^--[a-z0-9-]+(=[A-Za-z0-9_.-]+)?$/.test(f))) throw new Error("flags");
      for (const [n, hash, len] of scripts) {
        if (typeof n !== "string" || typeof hash !== "string" || !(len >= 0 && at + len <= payload.length)) throw new Error("entry");
        state.entries.set(n, { hash, data: payload.subarray(at, at + len) });
        at += len;
      }
      if (at !== payload.length) throw new Error("length");
      state.flags = flags;
      state.dirty = false;
    } catch {
      state.entries.clear();
    }
  }
  // The flags the entry's data was made under, before anything is compiled with it.
  for (const f of state.flags) setV8Flags(f);
  codeCache = state;
  process.on("exit", saveCodeCache);
  hookPackages();
}
/** A script compiled with the cached data kept under its name (when its text hash is the same). */
function cachedScript(name, source, filename, hash) {
  const e = codeCache ? codeCache.entries.get(name) : undefined;
  const script = new Script(source, e && e.hash === hash ? { filename, cachedData: e.data } : { filename });
  if (codeCache) compiled.push([name, script, hash]);
  return script;
}
/** Node compiles a package's CommonJS file through Module.prototype._compile: there with the code cache. */
function hookPackages() {
  const Module = require("node:module");
  const original = Module.prototype._compile;
  Module.prototype._compile = function (content, filename) {
    // (A file starting with #! is left to Node, which strips the line: inside the wrapper it would not parse.)
    if (!codeCache || typeof content !== "string" || !filename.includes("/node_modules/") || content.startsWith("#!")) return original.call(this, content, filename);
    // The text's CRC-32 and length (src/cache.ts checksum: zlib, which a short run loads ~5 ms cheaper than node:crypto).
    const hash = codeCache.cache.checksum(content).toString(16) + "-" + content.length;
    const fn = cachedScript(filename, "(function (exports, require, module, __filename, __dirname) { " + content + "\\n})", filename, hash).runInThisContext();
    const mod = this;
    const r = function require(id) { return mod.require(id); };
    r.resolve = (request, options) => Module._resolveFilename(request, mod, false, options);
    r.resolve.paths = (request) => Module._resolveLookupPaths(request, mod);
    r.main = require.main;
    r.extensions = Module._extensions;
    r.cache = Module._cache;
    return fn.call(mod.exports, mod.exports, r, mod, filename, require("node:path").dirname(filename));
  };
}
/** Writes the code cache when this run compiled a script without (usable) data, or the entry came from a failed run. */
function saveCodeCache(code) {
  const c = codeCache;
  if (!c) return;
  let dirty = c.dirty || (c.status !== 0 && code === 0) || v8FlagsSet.join(" ") !== c.flags.join(" ");
  for (const [n, s, hash] of compiled) { const e = c.entries.get(n); if (!e || e.hash !== hash || s.cachedDataRejected) dirty = true; }
  if (!dirty) return;
  try {
    // The entry keeps the scripts of earlier runs that this one did not compile (the same command on
    // another image, or failing early, loads other modules): two kinds of run of a command alternating
    // would otherwise rewrite it each time, each leaving the other's scripts out. Not when the flags
    // changed (V8 would reject that data).
    const scripts = compiled.map(([n, s, hash]) => [n, hash, s.createCachedData()]);
    if (v8FlagsSet.join(" ") === c.flags.join(" ")) {
      const now = new Set(scripts.map(([n]) => n));
      for (const [n, e] of c.entries) if (!now.has(n)) scripts.push([n, e.hash, e.data]);
    }
    const datas = scripts.map(([, , d]) => d);
    const json = Buffer.from(JSON.stringify({ flags: v8FlagsSet, scripts: scripts.map(([n, hash, d]) => [n, hash, d.length]) }));
    const head = Buffer.alloc(12);
    head.writeUInt32LE(0x3956544b, 0);
    head.writeUInt32LE(code === 0 ? 0 : 1, 4);
    head.writeUInt32LE(json.length, 8);
    c.cache.writeCache("v8", c.name, c.key, Buffer.concat([head, json, ...datas]), process.env);
  } catch { /* no cache this time */ }
}`);
const asyncPkgs = [...new Set(order.flatMap((m) => m.bare))].filter(needsImport);
lines.push(`const ASYNC = ${JSON.stringify(asyncPkgs)};`);
lines.push(`const BARE = ${JSON.stringify(order.map((m) => m.bare.filter((p) => asyncPkgs.includes(p))))};`);
lines.push(`const realRequire = createRequire(require("node:path").join(SRC, "cli", "main.js"));
const preloaded = new Map();
const cache = new Array(FILES.length);
function req(id) {
  const c = cache[id];
  if (c) return c.exports;
  const m = { exports: {} };
  cache[id] = m;
  const file = SRC + FILES[id];
  const specs = SPECS[id];
  const shim = (spec) => {
    const t = specs[spec];
    if (t !== undefined) return req(t);
    return preloaded.has(spec) ? preloaded.get(spec) : realRequire(spec);
  };
  // Each module's text is compiled when first required: the script itself holds strings only, so
  // loading it parses none of the modules a command does not run. Compiled as a vm.Script (a function
  // expression, as Node wraps CommonJS), with the V8 code cache of an earlier run when there is one.
  setCommandFlags();
  if (codeCache === undefined) openCodeCache();
  // bin/ktrace's V8 flags for the emulator's run loop (set before its first module: node:v8 takes ~3 ms
  // to load, which a static query does not pay; iced's wrapper, which disasm loads, is not the run loop).
  if (EMU[id] && !emuFlagsSet) {
    emuFlagsSet = true;
    setV8Flags(globalThis[Symbol.for("ktrace.emuV8Flags")]);
  }
  const source = (ASYNC_EVAL[id] ? "(async function (" : "(function (") + PARAMS.join(", ") + ") {" + readFileSync(CJS + FILES[id], "utf8") + "\\n})";
  const fn = cachedScript("m" + id, source, file, "").runInThisContext();
  const url = USES_URL[id] ? pathToFileURL(file).href : undefined;
  m.done = fn.call(m.exports, m.exports, shim, m, file, SRC + FILES[id].replace(/[^/]*$/, ""), url, load, dynamicImport);
  return m.exports;
}
/** An ES-only package a module needs, imported before the module runs. */
async function preload(id, seen = new Set()) {
  if (seen.has(id) || cache[id]) return;
  seen.add(id);
  for (const p of BARE[id]) if (!preloaded.has(p)) preloaded.set(p, await import(p));
  for (const d of DEPS[id]) await preload(d, seen);
}
async function load(id) {
  await preload(id);
  const exports = req(id);
  // A module evaluated as an async function (top-level await) has finished when its promise settles.
  if (ASYNC_EVAL[id]) await cache[id].done;
  return exports;
}`);
// Each module's CommonJS text in its own file (read and compiled when first required).
const cjs = join(dist, 'cli-cjs');
rmSync(cjs, { recursive: true, force: true });
for (const m of order) {
  const f = join(cjs, relative(src, m.file));
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, m.code);
}
// iced-x86 prepared for the loader (prepareIced), with the .wasm file it was made beside: its path
// from dist/, length and CRC-32 (src/cache.ts checksum, as the loader checks it).
let iced = null;
if (order.some((m) => relative(src, m.file) === 'emu/iced.js')) {
  try {
    const main = require.resolve('iced-x86', { paths: [src] });
    const prepared = prepareIced(readFileSync(main, 'utf8'));
    const wasmPath = join(dirname(main), 'iced_x86_bg.wasm');
    const wasm = readFileSync(wasmPath);
    const { checksum } = await import(pathToFileURL(join(src, 'cache.js')).href);
    writeFileSync(join(cjs, 'iced-x86.js'), prepared.glue);
    writeFileSync(join(cjs, 'iced-x86-enums.js'), prepared.enums);
    const hash = (t) => createHash('sha256').update(t).digest('hex').slice(0, 16);
    iced = { file: 'iced-x86.js', enums: 'iced-x86-enums.js', wasm: relative(dist, wasmPath), length: wasm.length, crc: checksum(wasm), hash: hash(prepared.glue), enumsHash: hash(prepared.enums) };
  } catch (e) {
    console.log(`bundle-cli: iced-x86 is loaded as the package (${e.message})`);
  }
}
lines.push(`const ICED = ${JSON.stringify(iced)};
/**
 * iced-x86 (emu/iced.ts loads it through this when the bundle runs): the prepared module
 * (scripts/bundle-cli.mjs prepareIced) when the .wasm file beside the package is still the one it
 * was made with (length and CRC-32), compiled through the code cache; else undefined, and emu/iced.ts
 * requires the package itself.
 */
function loadIced() {
  const bytes = icedWasmBytes();
  if (!bytes) return undefined;
  const file = CJS + ICED.file;
  const source = "(function (exports, require, module, __filename, __dirname, __icedWasm, __icedEnums) { " + readFileSync(file, "utf8") + "\\n})";
  const fn = cachedScript("iced", source, file, ICED.hash).runInThisContext();
  const m = { exports: {} };
  let enums;
  const icedEnums = () => (enums ??= cachedScript("iced-enums", readFileSync(CJS + ICED.enums, "utf8"), CJS + ICED.enums, ICED.enumsHash).runInThisContext());
  fn.call(m.exports, m.exports, require, m, file, CJS, () => icedCompiled || new WebAssembly.Module(bytes), icedEnums);
  return m.exports;
}
let icedBytes; // the .wasm file's bytes when they are the ones ICED was made with, else null
let icedCompiled; // its WebAssembly.Module when icedAhead compiled it
function icedWasmBytes() {
  if (icedBytes !== undefined) return icedBytes;
  icedBytes = null;
  if (!ICED) return null;
  let bytes;
  try { bytes = readFileSync(join(__dirname, ICED.wasm)); } catch { return null; }
  if (bytes.length !== ICED.length || req(CACHE_MODULE).checksum(bytes) !== ICED.crc) return null;
  return icedBytes = bytes;
}
/** Compiles iced-x86's WebAssembly off the main thread (V8's asynchronous compile): settles when done. */
function icedAhead() {
  const bytes = icedWasmBytes();
  if (!bytes || icedCompiled) return Promise.resolve();
  return WebAssembly.compile(bytes).then((m) => { icedCompiled = m; }, () => { /* compiled when loaded */ });
}
globalThis[Symbol.for("ktrace.icedAhead")] = icedAhead;
globalThis[Symbol.for("ktrace.loadIced")] = loadIced;`);
lines.push('module.exports = load(0);');
const target = join(dist, 'cli.cjs');
const tmp = `${target}.tmp-${process.pid}`;
writeFileSync(tmp, lines.join('\n') + '\n');
renameSync(tmp, target);
console.log(`bundle-cli: ${order.length} modules -> ${relative(root, target)}`);
}
