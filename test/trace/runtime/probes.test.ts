// ProbeRuntime in process: kprobe_events probes as kprobes/kretprobes on the booted fixture kernel.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runScript } from '../../../src/kernel/session.js';
import { parseWorkload } from '../../../src/kernel/workload/parser.js';
import { KprobeManager } from '../../../src/kprobe/kprobes.js';
import { KretprobeManager } from '../../../src/kprobe/kretprobe.js';
import { ProbeRuntime, byTraceTime, type TraceEvent } from '../../../src/trace/runtime/probes.js';
import { TraceSession } from '../../../src/trace/runtime/session.js';
import { emptyTraceState } from '../../../src/trace/runtime/state.js';
import { imageResolver } from '../../../src/trace/kprobe-events/index.js';
import { traceEventJson } from '../../../src/output/trace-json.js';
import { imageSymbolizer } from '../../../src/trace/runtime/context.js';
import { fixtureImage } from '../../elf/fixture.js';

const img = fixtureImage();

function trace(lines: string, workload: string, enable = true) {
  const events: TraceEvent[] = [];
  let rt!: ProbeRuntime;
  let session!: TraceSession;
  const result = runScript(img, parseWorkload('t.wl', workload), {
    cpus: 1, seed: 1, maxInsns: 50_000_000,
    attach: (p) => {
      const mgr = KprobeManager.attach(p);
      rt = new ProbeRuntime(mgr, p.machine.mem, p.image, KretprobeManager.attach(p, mgr));
      session = new TraceSession(emptyTraceState(), { resolver: imageResolver(p.image), backend: rt });
      assert.ok(session.events.write(lines) > 0, session.events.errorLog.text());
      if (enable) for (const e of session.events.events()) assert.is(session.events.setEnabled(e.group, e.event, true), 0);
      rt.onEvent = (e) => events.push(e);
    },
  });
  return { events, rt, session, result };
}

const ST6 = 'v = ktrace_selftest6 1 2 3 4 5 6\nexpect v == 21\n';

test("trace_kprobe self-test: testprobe and testprobe2 each hit once, $retval is 21", () => {
  const { events, rt, session, result } = trace(
    'p:testprobe kprobe_trace_selftest_target $stack $stack0 +0($stack)\nr:testprobe2 kprobe_trace_selftest_target $retval\n', ST6);
  assert.is(result.exitCode, 0);
  assert.equal(events.map((e) => e.probe.event), ['testprobe', 'testprobe2']);
  const [p, r] = events;
  assert.is(p!.comm, 'init');
  assert.is(p!.pid, 1);
  const v = p!.args.map((a) => (a.value as { value: bigint }).value);
  assert.is(v[1], v[2], '$stack0 == +0($stack)');
  assert.is(r!.retval, 21n);
  assert.is((r!.args[0]!.value as { value: bigint }).value, 21n);
  for (const probe of session.events.probes) assert.is(rt.hits.get(probe), 1);
  assert.match(r!.line, /testprobe2: \(__x64_sys_ktrace_selftest6\+0x[0-9a-f]+\/0x[0-9a-f]+ <- kprobe_trace_selftest_target\) arg1=0x15\n$/);
  const j = JSON.parse(traceEventJson(r!, imageSymbolizer(img)));
  assert.equal({ event: j.event, retval: j.retval, args: j.args }, { event: 'kprobes:testprobe2', retval: 21, args: { arg1: '0x15' } }, 'x64 (the default type) stays hex text');
  // The JSON's ip is rendered from the typed event, and says what the trace line says in its parentheses.
  for (const e of [p!, r!]) assert.is(JSON.parse(traceEventJson(e, imageSymbolizer(img))).ip, /: \((.*)\)/.exec(e.line)![1]);
  assert.match(JSON.parse(traceEventJson(p!, imageSymbolizer(img))).ip, /^kprobe_trace_selftest_target\+0x0\/0x[0-9a-f]+$/);
});

test('arguments: registers, $argN at entry and saved for the return, types', () => {
  const { events } = trace(
    'p:e kprobe_trace_selftest_target a1=%di:s32 a2=$arg2 a6=$arg6:u8 c=$comm\nr:x kprobe_trace_selftest_target a3=$arg3 ret=$retval:s64\n', ST6);
  assert.match(events[0]!.line, / e: \(kprobe_trace_selftest_target\+0x0\/0x[0-9a-f]+\) a1=1 a2=0x2 a6=6 c="init"\n$/);
  assert.match(events[1]!.line, / a3=0x3 ret=21\n$/);
});

test('disabled events record nothing and their kprobes stay disarmed; the run is unperturbed', () => {
  const off = trace('p:e kprobe_trace_selftest_target\n', ST6, false);
  assert.is(off.events.length, 0);
  const on = trace('p:e kprobe_trace_selftest_target\n', ST6, true);
  assert.is(on.events.length, 1);
  assert.is(on.result.instructions, off.result.instructions);
  assert.is(on.result.emulatedNs, off.result.emulatedNs);
});

test('trace order: by timestamp, then CPU; equal keys keep their arrival order', () => {
  const ev = [{ ts: 5n, cpu: 1, k: 'a' }, { ts: 3n, cpu: 1, k: 'b' }, { ts: 5n, cpu: 0, k: 'c' }, { ts: 3n, cpu: 1, k: 'd' }];
  assert.equal([...ev].sort(byTraceTime).map((e) => e.k), ['b', 'd', 'c', 'a']);
});

test.run();
