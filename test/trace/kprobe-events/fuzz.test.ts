// Fuzzing the kprobe_events parser as `ktrace add` and `fs write kprobe_events` reach it: mutated
// lines go through a light session on the fixture kernel (argv_split, the command parser, the fetch
// arguments, the registration checks, error_log). Each either defines events, whose kprobe_events
// text written to a fresh session defines the same again, or fails with an errno and the kernel's
// error_log entry, shown as the CLI shows it: the message, the command and a caret. Nothing else.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { Image } from '../../../src/elf/image.js';
import { DEFAULT_VMLINUX } from '../../../src/paths.js';
import { TraceSession } from '../../../src/trace/runtime/session.js';
import { emptyTraceState } from '../../../src/trace/runtime/state.js';
import { checkBackend } from '../../../src/trace/runtime/check-backend.js';
import { imageResolver } from '../../../src/trace/kprobe-events/resolver.js';
import { archProbeRefusal } from '../../../src/kprobe/x86.js';
import { addProbe } from '../../../src/trace/runtime/probe-events.js';
import { assertShowable, describe, runCampaign, serveCampaign, CASES, type Campaign } from '../../fuzz.js';

const corpus = [
  'p:kprobes/myprobe vfs_read fd=%di:u32 buf=+0(%si):string cnt=%dx',
  'p:grp/ev vfs_read fd=%di:s32 buf=+0(%si):string arr=+0(%si):u8[2] sym=%ip:symbol',
  'r:kprobes/myretprobe vfs_read $retval',
  'r5:g/e vfs_write x=$retval:s32',
  'r100 do_exit',
  'p:kprobes/testprobe kprobe_trace_selftest_target arg1=$stack arg2=$stack0 arg3=+0($stack)',
  'p:kprobes/testevent kernel_clone ^abcd=\\"foo"',
  'p:kprobes/testevent do_exit abcd=\\1:u8',
  'p:f vfs_read a=%di:b1@0/8 b=+0(%si):u8[2]',
  'p:f vfs_read a=%di:x64 b=-8(+16(%sp)):s16 c=@jiffies d=@jiffies+8:u64',
  'p vfs_read+4 $arg1 $arg2 $comm c=$comm:string',
  'p:e ksys_read+7 $stack3 +0(+8(%di)):ustring',
  'p 0xffffffff81002000 %ax %bx %cx %r8 %r15 %flags %ip %sp',
  'p:kprobes/modp nfs:nfs_read',
  'p:bad vfs_read+1',
  'p:^foo.1/bar vfs_read',
  '-:kprobes/myprobe',
  '-:e vfs_read+4 a=%di b=%si',
  '-:grp/',
  'p:a vfs_read\np:b nosuch\np:c vfs_write',
  'p:x vfs_read a=+0(%di):symstr b=%si:char c=+0(%dx):string[4]',
  'p:probe/vfs_read vfs_read+0 count=%dx:u64',
  'p:probe/ksys_read __x64_sys_read+26 fd=+112(%di):x32',
  'p:probe/do_sys_open do_sys_openat2%return',
];

const image = Image.load(readFileSync(DEFAULT_VMLINUX));
const resolver = imageResolver(image);
const session = (kprobeEvents = '') => new TraceSession({ ...emptyTraceState(), kprobeEvents }, {
  resolver, backend: checkBackend(image, archProbeRefusal, new Set()),
});

const campaign: Campaign = {
  name: 'kprobe_events',
  corpus,
  mutator: {
    // One more dereference around the first register or around the last word.
    nest: (s, rand) => {
      if (rand(2)) return s.replace(/(%[a-z0-9]+)/, '+0($1)');
      const sp = Math.max(s.lastIndexOf(' '), s.lastIndexOf('=')) + 1;
      return `${s.slice(0, sp)}+8(${s.slice(sp)})`;
    },
    dict: ['p', 'r', 'p:', 'r:', '-:', '%return', '$retval', '$comm', '$stack', '$arg', '$argN', '@', '+0(', ')', ':u8', ':s64', ':x32',
      ':string', ':ustring', ':symbol', ':symstr', ':char', ':b4@4/32', '[64]', '[65]', '\\', '\\"', '%di', '%rdi', '%ip', '%flags',
      'vfs_read', 'ksys_read', 'do_idle', 'lkdtm_INT3', 'kprobe_target', 'toString', '__proto__', 'jiffies', '0xffffffff81000000'],
  },
  check(input) {
    const s = session();
    for (const line of input.split('\n')) {
      const r = addProbe(s, [line], false);
      if (!r.ok) { assertShowable(r.message, 3); continue; }
      assert.type(r.line, 'string');
    }
    // What was defined reads back as kprobe_events text that defines the same events again.
    const text = s.events.read();
    if (!text) return;
    // Except a MOD:SYM probe named after its symbol: the kernel names it "p_MOD_SYM_0" with only ':'
    // and '.' sanitized (sanitize_event_name), so `p:g/ a=b:c` defines an event that cannot be written
    // back, in Linux as here.
    if (s.events.probes.some((p) => p.symbol?.includes(':'))) return;
    const again = session();
    assert.is(again.events.write(text), Buffer.byteLength(text), `re-writing ${JSON.stringify(text)}: ${JSON.stringify(again.events.errorLog.entries.map((e) => e.message))}`);
    assert.is(again.events.read(), text);
  },
};

if (!serveCampaign(campaign)) {
  test(`kprobe_events parser: ${CASES} mutated lines, no exception, no hang, errors the kernel's with a caret`, async () => {
    const r = await runCampaign(import.meta.url, campaign);
    console.log(`NOTE fuzz kprobe_events: ${r.cases} cases, ${r.failures.length} failures, ${r.hangs} hangs`);
    assert.is(r.failures.length, 0, describe(r));
  });
  test.run();
}
