import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { traceEventJson } from '../../src/output/trace-json.js';
import { probesOf } from '../../src/trace/kprobe-events/probe.js';
import { bytesText, textBytes } from '../../src/base/text.js';
import type { TraceEvent } from '../../src/trace/runtime/probes.js';

const SYM = { withOffset: (a: bigint) => `f+0x${a.toString(16)}/0x100`, noOffset: () => 'f', isTrampoline: () => false };

function event(comm: string, values: TraceEvent['args'][number]['value'][]): TraceEvent {
  const p = probesOf('p:kprobes/o vfs_read name=+0(%si):string names=+0(%dx):string[2] n=%ax:u32\n')[0]!;
  return { probe: p, cpu: 0, tsNs: 1000n, comm, pid: 7, ip: 0x10n, args: p.args.map((arg, i) => ({ arg, value: values[i]! })), line: '' };
}

test('JSON carries bytes that are not UTF-8 as U+FFFD text plus their exact bytes in base64 (rawArgs, rawComm)', () => {
  const bad = bytesText([0x2f, 0x61, 0xff, 0xfe, 0x62]);
  const j = JSON.parse(traceEventJson(event(bytesText([0x63, 0xe9]), [{ kind: 'str', text: bad }, [{ kind: 'str', text: 'ok' }, { kind: 'str', text: bad }], { kind: 'num', value: 5n }]), SYM));
  assert.is(j.args.name, '/a\ufffd\ufffdb');
  assert.equal(j.args.names, ['ok', '/a\ufffd\ufffdb']);
  assert.is(j.args.n, 5);
  assert.is(Buffer.from(j.rawArgs.name, 'base64').toString('hex'), textBytes(bad).toString('hex'));
  assert.is(Buffer.from(j.rawArgs.names[1], 'base64').toString('hex'), '2f61fffe62');
  assert.is(j.rawArgs.names[0], null);
  assert.is(j.comm, 'c\ufffd');
  assert.is(Buffer.from(j.rawComm, 'base64').toString('hex'), '63e9');
  assert.not.match(traceEventJson(event('c', [{ kind: 'str', text: bad }, [], { kind: 'num', value: 5n }]), SYM), /\\ud[89a-f]/i, 'no lone surrogate in the JSON text');
});

test('plain UTF-8 strings carry no raw fields', () => {
  const j = JSON.parse(traceEventJson(event('cat', [{ kind: 'str', text: 'caf\u00e9' }, [], { kind: 'num', value: 1n }]), SYM));
  assert.is(j.args.name, 'caf\u00e9');
  assert.is(j.comm, 'cat');
  assert.is(j.rawArgs, undefined);
  assert.is(j.rawComm, undefined);
});

test.run();
