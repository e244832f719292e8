#!/usr/bin/env node
// Records what real `perf probe` (linux-perf) and binutils print for a real distribution kernel, Debian
// 12's linux-image-6.1.0-*-cloud-amd64-dbg (scripts/real-vmlinux.sh fetches it and its sources): the
// oracle of perf-oracle-real.test.ts, as oracle/generate.mjs is the fixture's. The sample is fixed: every
// Nth name of `perf probe -F` (at least 2,000 functions) plus the functions kprobe tutorials use
// (functions.json). For each: -V FUNC, -L FUNC, -D 'FUNC%return $retval', -D 'FUNC $params' and -D
// 'FUNC:N' (N: the first line -L numbers after the entry); then the hand-picked specs of specs.json
// (unnamed: perf names them), `objdump -d` of 200 functions and `nm` of the whole image.
// perf reloads the image's DWARF at each call (0.5-5 s here), so calls are batched (see GROUP).
// Results of each call are memoized in the cache directory (an interrupted run resumes); the whole run
// stops at --budget seconds (default 5400) with what it has not done listed.
// Usage: nice node test/trace/perf-probe/oracle-real/generate.mjs [--budget S] [--shard K/N | --hand]
// (about 25 minutes of CPU: shards at once, then a run without --shard to assemble)
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { brotliCompressSync, constants } from 'node:zlib';
import { join } from 'node:path';

const root = new URL('../../../../', import.meta.url).pathname;
const here = new URL('./', import.meta.url).pathname;
const script = join(root, 'scripts/real-vmlinux.sh');
const sh = (args) => { const r = spawnSync(script, args, { encoding: 'utf8' }); if (r.status !== 0) { process.stderr.write(r.stderr); process.exit(1); } return r.stdout.trim(); };
const vmlinux = sh([]);
const src = sh(['--source']);
const pkg = readFileSync(vmlinux + '.version', 'utf8').trim();
const budgetArg = process.argv.indexOf('--budget');
const deadline = Date.now() + 1000 * (budgetArg > 0 ? Number(process.argv[budgetArg + 1]) : 5400);
const memoFile = `${vmlinux}.oracle-memo.jsonl`;
const memo = new Map();
if (existsSync(memoFile)) for (const l of readFileSync(memoFile, 'utf8').split('\n')) if (l) { const e = JSON.parse(l); memo.set(e.key, e.value); }
const env = { ...process.env, PAGER: 'cat', LC_ALL: 'C' };
let calls = 0, outOfTime = false;

/** One perf probe call: stdout, success, and whether perf died of a signal (it does, on some names). */
function perf(args) {
  const key = JSON.stringify(args);
  if (memo.has(key)) return memo.get(key);
  if (Date.now() > deadline) { outOfTime = true; return undefined; }
  const r = spawnSync('perf', ['probe', '-q', '-k', vmlinux, '-s', src, ...args], { encoding: 'utf8', env, timeout: 300_000, maxBuffer: 1 << 28 });
  if (r.error && r.error.code !== 'ETIMEDOUT') { console.error(`perf: ${r.error.message}`); process.exit(2); }
  const value = { stdout: r.stdout ?? '', ok: r.status === 0, ...(r.signal ? { crashed: r.signal } : {}) };
  memo.set(key, value);
  appendFileSync(memoFile, JSON.stringify({ key, value }) + '\n');
  if (++calls % 50 === 0) console.error(`${calls} perf calls, ${Math.round((deadline - Date.now()) / 1000)} s left`);
  return value;
}
const tool = (cmd, args) => spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 1 << 30 }).stdout;

const version = tool('perf', ['--version']).trim();
const funcs = perf(['-F']).stdout.trim().split('\n');
const hand = JSON.parse(readFileSync(join(here, 'functions.json'), 'utf8'));
const specs = JSON.parse(readFileSync(join(here, 'specs.json'), 'utf8'));
const step = Math.floor(funcs.length / 2000);
const sample = [...new Set([...funcs.filter((_, i) => i % step === 0), ...hand])];
const cases = [];
const add = (c) => { cases.push(c); return c; };

// The sample in fixed groups of 25 functions; each group is one -V call (perf stops at the first function
// it cannot show: that one alone, then the rest), one -L call a function, and one -D call for the group's
// specs. Groups are independent, so --shard K/N runs every Nth group (several at once
// fill the cores; a last run without --shard assembles the memoized answers).
const GROUP = 25;
const shardArg = process.argv.indexOf('--shard');
const [shardK, shardN] = shardArg > 0 ? process.argv[shardArg + 1].split('/').map(Number) : [0, 1];
const handSet = new Set(hand);
function runV(batch) {
  for (let i = 0; i < batch.length;) {
    const r = perf(batch.slice(i).flatMap((f) => ['-V', f]));
    if (!r) return;
    const sections = r.stdout.split(/^(?=Available variables at )/m).filter((s) => s.startsWith('Available variables at '));
    // A crash loses what perf had not flushed: the last section printed may be cut, so it is redone.
    const done = r.ok ? batch.length - i : Math.max(0, Math.min(r.crashed ? sections.length - 1 : sections.length, batch.length - i));
    for (let k = 0; k < done; k++) add({ mode: 'V', spec: batch[i + k], stdout: sections[k] ?? '', ok: true });
    i += done;
    if (i < batch.length && !r.ok) {
      const alone = perf(['-V', batch[i]]);
      if (!alone) return;
      add({ mode: 'V', spec: batch[i], ...alone });
      i++;
    }
  }
}
// -D specs are named eN (N: the spec's number in the sample's list) so that one call's lines split by spec;
// perf refuses a whole call for one bad spec: the list is halved until the bad ones stand alone.
function runD(list) {
  if (!list.length) return true;
  const r = perf(list.flatMap((s) => ['-D', s]));
  if (!r) return false;
  if (!r.ok && list.length > 1) {
    const h = list.length >> 1;
    return runD(list.slice(0, h)) && runD(list.slice(h));
  }
  const lines = new Map(list.map((s) => [/^e(\d+)=/.exec(s)[1], []]));
  for (const l of r.stdout.split('\n')) {
    const m = /^[pr]:probe\/e(\d+)(?:__return)?(?:_\d+)? /.exec(l);
    if (m) lines.get(m[1])?.push(l + '\n');
  }
  for (const s of list) {
    const n = /^e(\d+)=/.exec(s)[1];
    add({ mode: 'D', spec: s, stdout: r.ok ? lines.get(n).join('') : '', ok: r.ok, ...(r.crashed ? { crashed: r.crashed } : {}) });
  }
  return true;
}
const handOnly = process.argv.includes('--hand');
for (let g = 0; g * GROUP < sample.length && !handOnly; g++) {
  if (g % shardN !== shardK) continue;
  const group = sample.slice(g * GROUP, (g + 1) * GROUP);
  // Each function of the sample gets one query in turn (the hand-picked ones get all): -V FUNC; -L FUNC
  // and -D FUNC:N (N: the first line -L numbers after the entry); -D 'FUNC%return $retval'; -D 'FUNC $params'.
  const kinds = (f, k) => (handSet.has(f) ? [0, 1, 2, 3] : [(g * GROUP + k) % 4]);
  runV(group.filter((f, k) => kinds(f, k).includes(0)));
  const firstLine = new Map();
  for (const [k, f] of group.entries()) {
    if (!kinds(f, k).includes(1)) continue;
    const r = perf(['-L', f]);
    if (!r) break;
    add({ mode: 'L', spec: f, ...r });
    const m = r.ok && /^ {0,6}([1-9]\d*)  /m.exec(r.stdout);
    if (m) firstLine.set(f, Number(m[1]));
  }
  const dSpecs = [];
  group.forEach((f, k) => {
    for (const kind of kinds(f, k)) {
      if (kind === 1 && firstLine.has(f)) dSpecs.push(`${f}:${firstLine.get(f)}`);
      else if (kind === 2) dSpecs.push(`${f}%return $retval`);
      else if (kind === 3) dSpecs.push(`${f} $params`);
    }
  });
  runD(dSpecs.map((s, k) => `e${g * GROUP * 4 + k}=${s}`));
}
if (shardN > 1) { console.log(`shard ${shardK}/${shardN}: ${calls} perf calls${outOfTime ? ', out of time' : ''}`); process.exit(0); }

// The hand-picked specs, one a call, unnamed (perf's own naming).
for (const [mode, list] of Object.entries(specs)) {
  for (const s of list) {
    const r = perf([`-${mode}`, s]);
    if (!r) break;
    add({ mode, spec: s, ...r });
  }
}
if (handOnly) { console.log(`hand-picked specs: ${calls} perf calls${outOfTime ? ', out of time' : ''}`); process.exit(0); }

// binutils: nm of the whole image; objdump -d of 200 functions: 10 runs of 20 neighbours in address
// order (one objdump call a run), at evenly spaced places of .text, one of them around vfs_read.
const nm = tool('nm', [vmlinux]);
const text = [];
for (const l of tool('nm', ['-S', '-n', vmlinux]).split('\n')) {
  const m = /^([0-9a-f]{16}) ([0-9a-f]{16}) [tTwW] (\S+)$/.exec(l);
  if (m && m[2] !== '0000000000000000') text.push({ name: m[3], addr: BigInt('0x' + m[1]), size: BigInt('0x' + m[2]) });
}
const objdump = [];
const starts = Array.from({ length: 9 }, (_, k) => Math.floor(((k + 0.5) * text.length) / 9));
starts.push(Math.max(0, text.findIndex((t) => t.name === 'vfs_read') - 10));
for (const at of starts.sort((a, b) => a - b)) {
  const run = text.slice(at, at + 20);
  const lo = run[0].addr, hi = run.reduce((m, t) => (t.addr + t.size > m ? t.addr + t.size : m), 0n);
  const out = tool('objdump', ['-d', `--start-address=0x${lo.toString(16)}`, `--stop-address=0x${hi.toString(16)}`, vmlinux]);
  // Only the listing: the header names the file by its path on this machine.
  objdump.push({ functions: run.map((t) => t.name), start: lo.toString(16), stop: hi.toString(16), listing: out.slice(out.indexOf('\n\n', out.indexOf('Disassembly of section')) + 2) });
}

const buildId = /Build ID: ([0-9a-f]+)/.exec(tool('readelf', ['-n', vmlinux]))?.[1];
const leftOut = outOfTime ? 'the generator ran out of time: rerun it (it resumes)' : undefined;
const out = {
  package: pkg, vmlinux: vmlinux.slice(vmlinux.lastIndexOf('/') + 1), buildId, size: statSync(vmlinux).size,
  perf: version, binutils: tool('objdump', ['--version']).split('\n')[0], step, sample, funcs, cases, objdump, ...(leftOut ? { leftOut } : {}),
};
const z = (s) => brotliCompressSync(Buffer.from(s), { params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_LGWIN]: 24 } });
writeFileSync(join(here, 'perf.json.br'), z(JSON.stringify(out)));
writeFileSync(join(here, 'nm.txt.br'), z(nm));
console.log(`${pkg} (build-id ${buildId}), ${version}: ${sample.length} functions, ${cases.length} cases, ${cases.filter((c) => !c.ok).length} failing in perf, ${cases.filter((c) => c.crashed).length} crashing perf, ${objdump.reduce((n, o) => n + o.functions.length, 0)} functions in objdump listings, ${calls} perf calls${leftOut ? ': ' + leftOut : ''}`);
