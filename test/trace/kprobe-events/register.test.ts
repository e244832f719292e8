import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseKprobeCommand, type ProbeDef } from '../../../src/trace/kprobe-events/probe.js';
import { checkRegister, compareArgTypes, registrationError, applyDelete, releaseAll } from '../../../src/trace/kprobe-events/register.js';
import { fakeResolver } from './fake.js';

function probe(line: string): ProbeDef {
  const r = parseKprobeCommand(line, fakeResolver);
  if (!r.ok || r.command.kind !== 'create') throw new Error(line);
  return r.command.probe;
}

test('new, append, and the multiprobe errors with their positions', () => {
  const a = probe('p:t/ev vfs_read x=%di:u32');
  assert.equal(checkRegister([], a), { ok: true, kind: 'new' });
  assert.equal(checkRegister([a], probe('p:t/ev vfs_write x=%si:u32')), { ok: true, kind: 'append', to: a });
  const e1 = checkRegister([a], probe('r:t/ev vfs_write x=%si:u32'));
  assert.ok(!e1.ok && e1.err.code === 'DIFF_PROBE_TYPE' && e1.err.pos === 0);
  const e2 = checkRegister([a], probe('p:t/ev vfs_write x=%si:u32 y=%dx'));
  assert.ok(!e2.ok && e2.err.code === 'DIFF_ARG_TYPE' && e2.err.pos === 'p:t/ev vfs_write x=%si:u32 '.length);
  const e3 = checkRegister([a], probe('p:t/ev vfs_write'));
  assert.ok(!e3.ok && e3.err.code === 'DIFF_ARG_TYPE' && e3.err.pos === 'p:t/ev vfs_write '.length);
  const e4 = checkRegister([a], probe('p:t/ev vfs_read x=%di:u32'));
  assert.ok(!e4.ok && e4.err.code === 'SAME_PROBE' && e4.errno === -17);
  // Same place and argument types but a different fetch: appended.
  assert.ok(checkRegister([a], probe('p:t/ev vfs_read x=%si:u32')).ok);
  const e5 = checkRegister([], probe('p:sched/sched_switch vfs_read'), (g, e) => g === 'sched' && e === 'sched_switch');
  assert.ok(!e5.ok && e5.err.code === 'EVENT_EXIST');
});

test('argument comparison: count, then name, type and array size', () => {
  const base = probe('p:f vfs_read a=%di:u8 b=+0(%si):u8[2]');
  assert.is(compareArgTypes(base, base), 0);
  assert.is(compareArgTypes(probe('p:f vfs_read a=%di:u8'), base), 2);
  assert.is(compareArgTypes(probe('p:f vfs_read a=%di:u8 b=+0(%si):u8[3]'), base), 2);
  assert.is(compareArgTypes(probe('p:f vfs_read a=%di:s8 b=+0(%si):u8[2]'), base), 1);
  // A bitfield is stored in its container type, and the kernel compares only the type.
  assert.is(compareArgTypes(probe('p:f vfs_read a=%di:b1@0/8 b=+0(%si):u8[2]'), base), 0);
});

test('registration errno → error_log entry', () => {
  const p = probe('p:e vfs_read+1');
  assert.is(registrationError(p, -84)?.code, 'BAD_INSN_BNDRY');
  assert.is(registrationError(p, -84)?.pos, 4);
  assert.is(registrationError(p, -2)?.code, 'BAD_PROBE_ADDR');
  assert.is(registrationError(p, -16)?.code, 'FAIL_REG_PROBE');
  assert.is(registrationError(p, -17), undefined);
  assert.is(registrationError(p, -12), undefined);
});

function del(line: string) {
  const r = parseKprobeCommand(line, fakeResolver);
  if (!r.ok || r.command.kind !== 'delete') throw new Error(line);
  return r.command.spec;
}

test('delete: matches in order, -ENOENT when none, -EBUSY on an enabled event\'s last probe', () => {
  const a = probe('p:g/a vfs_read'), b1 = probe('p:g/b vfs_read'), b2 = probe('p:g/b vfs_write'), c = probe('p:h/c vfs_read');
  const all = [a, b1, b2, c];
  const none = () => false;
  assert.equal(applyDelete(all, del('-:g/a'), none), { errno: 0, remaining: [b1, b2, c] });
  assert.equal(applyDelete(all, del('-:g/zz'), none), { errno: -2, remaining: all });
  assert.equal(applyDelete(all, del('-:g/'), none), { errno: 0, remaining: [c] });
  assert.equal(applyDelete(all, del('-:b vfs_write'), none), { errno: 0, remaining: [a, b1, c] });
  const bOn = (g: string, e: string) => g === 'g' && e === 'b';
  // The first probe of an enabled multiprobe event goes (it has a sibling); the last one is busy.
  assert.equal(applyDelete(all, del('-:g/b'), bOn), { errno: -16, remaining: [a, b2, c] });
  assert.equal(applyDelete(all, del('-:g/'), bOn), { errno: -16, remaining: [b2, c] });
  assert.equal(releaseAll(all, bOn), { errno: -16, remaining: all });
  assert.equal(releaseAll(all, none), { errno: 0, remaining: [] });
});

test.run();
