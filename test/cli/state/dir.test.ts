import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { homedir } from 'node:os';
import { stateDir } from '../../../src/cli/state/dir.js';

test('state directory: --state, then KTRACE_STATE, then XDG_STATE_HOME, then ~/.local/state', () => {
  assert.is(stateDir('/a/b', { KTRACE_STATE: '/c' }), '/a/b');
  assert.is(stateDir(undefined, { KTRACE_STATE: '/c', XDG_STATE_HOME: '/x' }), '/c');
  assert.is(stateDir(undefined, { XDG_STATE_HOME: '/x' }), '/x/ktrace');
  // A relative XDG_STATE_HOME is invalid per the XDG spec and ignored.
  assert.is(stateDir(undefined, { XDG_STATE_HOME: 'rel' }), `${homedir()}/.local/state/ktrace`);
  assert.is(stateDir(undefined, {}), `${homedir()}/.local/state/ktrace`);
});

test.run();
