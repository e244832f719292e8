// Fuzzing the workload language: mutated scripts (the bundled workloads and the parser tests'
// examples) either parse, and then run on the fake kernel without an internal error, or fail with a
// WorkloadError whose text is `file:line:col: reason`, the source line and a caret: nothing else.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../../../src/paths.js';
import { parseWorkload } from '../../../src/kernel/workload/parser.js';
import { WorkloadError } from '../../../src/kernel/workload/error.js';
import { runFake } from './fake-kernel.js';
import { assertShowable, describe, runCampaign, serveCampaign, CASES, type Campaign } from '../../fuzz.js';

const dir = join(FIXTURES, 'workloads');
const corpus = [
  ...readdirSync(dir).filter((f) => f.endsWith('.wl')).sort().map((f) => readFileSync(join(dir, f), 'utf8')),
  'fd = openat "/etc/motd"\nb = buf 64\nn = read fd b\nclose fd\n',
  'n = write STDOUT "hello\\n"\nexpect n == 6\nr = read 99 NULL 1\nexpect r == -EBADF',
  'repeat 3 { getpid; sched_yield }\nspawn 2 {\n  repeat 2 { getpid }\n}\n',
  'p = buf 8\npipe2 p\nn = write p[1] "ping"\nb = buf 4\nread p[0] b\nexpect b == "ping"',
  'nanosleep 1000000\nt = buf 16\nclock_gettime CLOCK_MONOTONIC t\nexpect t[0] >= 0',
  's = buf 8\nsocketpair AF_UNIX SOCK_STREAM 0 s\nsendto s[0] "x" 1 MSG_DONTWAIT\nr = recvfrom s[1] s 1\nexit_group 0',
  'ktrace_selftest 1 2\nktrace_selftest6 1 2 3 4 5 6\nc = buf 256\nktrace_compute c 256 3\nw = wait4 -1 NULL WNOHANG',
];

const campaign: Campaign = {
  name: 'workload',
  corpus,
  mutator: {
    nest: (s, rand) => (rand(2) ? `repeat ${rand(3)} { ${s} }` : `spawn ${1 + rand(2)} {\n${s}\n}`),
    dict: ['buf 65536', 'nanosleep 5', 'repeat', 'spawn', 'expect', 'buf', '{', '}', '[', ']', '==', '!=', '<=', '>=', '-EAGAIN', 'AT_FDCWD', 'toString', '__proto__', '"\\x4', '"\\q"', '""'],
  },
  check(input) {
    let script;
    try {
      script = parseWorkload('f.wl', input);
    } catch (e) {
      if (!(e instanceof WorkloadError)) throw e;
      const text = e.format();
      assertShowable(text, 3);
      assert.is(text.split('\n')[0], e.message);
      assert.match(e.message, /^f\.wl:\d+:\d+: \S/);
      assert.ok(text.split('\n')[2]!.includes('^'), text);
      return;
    }
    // A script the parser accepts runs without an internal error (a bounded number of host calls).
    runFake(script, { maxSteps: 500 });
  },
};

if (!serveCampaign(campaign)) {
  test(`workload parser and runner: ${CASES} mutated scripts, no exception, no hang, errors of three lines`, async () => {
    const r = await runCampaign(import.meta.url, campaign);
    console.log(`NOTE fuzz workload: ${r.cases} cases, ${r.failures.length} failures, ${r.hangs} hangs`);
    assert.is(r.failures.length, 0, describe(r));
  });
  test.run();
}
