#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with uvu, one process per file group,
// and ends with the plain totals line CI reads: "N passed, N failed".
// KTRACE_LONG=1 selects the exhaustive sizes; the default run uses seeded samples.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');
const filter = process.argv[2] ? new RegExp(process.argv[2]) : null;

function walk(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = walk(testDir).filter((f) => !filter || filter.test(relative(testDir, f)));
let passed = 0, failed = 0, skipped = 0;
const failures = [];
const jobs = Math.max(1, Number(process.env.KTRACE_TEST_JOBS || 2));
// A test file that runs longer than this is killed and counted as failed: a hung test must not hang CI.
const FILE_LIMIT_MS = Number(process.env.KTRACE_TEST_FILE_LIMIT_S || (process.env.KTRACE_LONG ? 5400 : 900)) * 1000;
// Terminal UI tests wait on ink's renders by time: they run last, one at a time, with nothing beside them.
const ALONE = /(^|\/)tui[/.]/;

function runOne(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [file], {
      cwd: root, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => {
      out += `\nkilled: still running after ${FILE_LIMIT_MS / 1000} s\n`;
      child.kill('SIGKILL');
    }, FILE_LIMIT_MS);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      const t = /Total:\s+(\d+)/.exec(out), p = /Passed:\s+(\d+)/.exec(out), s = /Skipped:\s+(\d+)/.exec(out);
      const total = t ? +t[1] : 0, pass = p ? +p[1] : 0, skip = s ? +s[1] : 0;
      let fail = total - pass - skip;
      if (code !== 0 && fail === 0) fail = 1; // crashed before reporting
      passed += pass; failed += fail; skipped += skip;
      const rel = relative(testDir, file);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`${fail ? 'FAIL' : 'ok  '} ${rel}  (${pass} passed${fail ? `, ${fail} failed` : ''}${skip ? `, ${skip} skipped` : ''}, ${secs}s)\n`);
      const notes = out.split('\n').filter((l) => /^\s*(SKIP|NOTE)\b/.test(l));
      for (const n of notes) process.stdout.write('     ' + n.trim() + '\n');
      if (fail) failures.push({ rel, out });
      resolve();
    });
  });
}

const queue = files.filter((f) => !ALONE.test(relative(testDir, f)));
await Promise.all(Array.from({ length: jobs }, async () => { while (queue.length) await runOne(queue.shift()); }));
for (const f of files.filter((f) => ALONE.test(relative(testDir, f)))) await runOne(f);
for (const f of failures) process.stdout.write(`\n---- ${f.rel} ----\n${f.out}\n`);
if (files.length === 0) { process.stdout.write('no test files found\n'); failed++; }
process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed ? 1 : 0);
