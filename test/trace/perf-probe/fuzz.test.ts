// Fuzzing the perf probe spec parsers as `ktrace add` reaches them: mutated specs (the perf oracle's
// hand-picked specs, README examples) through parseProbeSpec and parsePerfProbe, then the CLI's own
// decision (specCompiler: raw kprobe_events line, or the debug info of the fixture kernel), and the
// lines it produces written to a light session. Each either compiles, or fails with one line (plus
// the spec and a caret for syntax errors, or a hint): no exception, no hang, nothing else.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Image } from '../../../src/elf/image.js';
import { DEFAULT_VMLINUX } from '../../../src/paths.js';
import { parseProbeSpec } from '../../../src/trace/perf-probe/spec.js';
import { parsePerfProbe } from '../../../src/trace/perf-probe.js';
import { TraceSession } from '../../../src/trace/runtime/session.js';
import { emptyTraceState } from '../../../src/trace/runtime/state.js';
import { checkBackend } from '../../../src/trace/runtime/check-backend.js';
import { imageResolver } from '../../../src/trace/kprobe-events/resolver.js';
import { archProbeRefusal } from '../../../src/kprobe/x86.js';
import { addLines, addProbe } from '../../../src/trace/runtime/probe-events.js';
import { specCompiler } from '../../../src/trace/perf-probe/spec-compiler.js';
import { DebugInfoError } from '../../../src/debuginfo/open.js';
import { assertShowable, describe, runCampaign, serveCampaign, CASES, type Campaign } from '../../fuzz.js';

const specs = JSON.parse(readFileSync(join(process.cwd(), 'test/trace/perf-probe/oracle/specs.json'), 'utf8')) as Record<string, string[]>;
const corpus = [...new Set([...Object.values(specs).flat(), 'vfs_read count=%dx:u64', 'vfs_read%return $retval',
  'kprobe_trace_selftest_target a1 a2 a6', 'vfs_read $params', 'ksys_read fd buf:string', 'probe:x=vfs_read+0x10 arr[2]',
  'vfs_read file->f_pos.x[3]->y', 'fs/read_write.c;*count*', 'vfs_read:10 count'])];

const image = Image.load(readFileSync(DEFAULT_VMLINUX));
const resolver = imageResolver(image);
const compile = specCompiler(image, DEFAULT_VMLINUX);
const session = () => new TraceSession({ ...emptyTraceState() }, { resolver, backend: checkBackend(image, archProbeRefusal, new Set()) });

const campaign: Campaign = {
  name: 'perf-spec',
  corpus,
  mutator: {
    nest: (s, rand) => (rand(2) ? s.replace(/(\s|$)/, '->f$1') : s.replace(/(\s|$)/, '[1]$1')),
    dict: ['%return', ';', ':', '@', '+', '=', '->', '.', '[', ']', '$retval', '$vars', '$params', '$comm', ':string', ':u64', ':x32',
      ':symbol', 'vfs_read', 'ksys_read', 'pipe_read', 'do_syscall_64', 'read_write.c', 'fs/', '*', '?', 'file', 'f_pos', 'regs'],
  },
  check(input) {
    const words = [input];
    const spec = parseProbeSpec(words);
    if (!spec.ok) assertShowable(spec.reason, 1);
    const raw = parsePerfProbe(words);
    if (!raw.ok) {
      assertShowable(raw.message, 1);
      assert.ok(raw.pos >= 0 && raw.pos <= raw.text.length, `caret ${raw.pos} outside ${JSON.stringify(raw.text)}`);
    }
    // As `ktrace add SPEC` takes it: through the debug info, or as a raw line.
    const s = session();
    const taken = (g: string, e: string) => s.events.events().some((x) => x.group === g && x.event === e);
    let lines: string[] | undefined;
    try {
      lines = compile!(words, { taken, force: false, command: 'add' });
    } catch (e) {
      if (!(e instanceof DebugInfoError)) throw e;
      assertShowable(e.message, 2);
      return;
    }
    const r = lines ? addLines(s, lines, false) : addProbe(s, words, false);
    if (!r.ok) assertShowable(r.message, 3);
  },
};

if (!serveCampaign(campaign)) {
  test(`perf probe spec parsers: ${CASES} mutated specs, no exception, no hang, one-line errors`, async () => {
    const r = await runCampaign(import.meta.url, campaign);
    console.log(`NOTE fuzz perf-spec: ${r.cases} cases, ${r.failures.length} failures, ${r.hangs} hangs`);
    assert.is(r.failures.length, 0, describe(r));
  });
  test.run();
}
