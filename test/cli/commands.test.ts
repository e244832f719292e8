import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { COMMANDS } from '../../src/cli/commands.js';
import { words } from '../../src/cli/fastargs.js';

test('every registry entry loads a yargs command module of that name, with consistent fast commands', async () => {
  const names = new Set<string>();
  for (const c of COMMANDS) {
    assert.not.ok(names.has(c.name), `duplicate ${c.name}`);
    names.add(c.name);
    const m = await c.load();
    assert.is(String(m.default.command).split(' ')[0], c.name);
    assert.type(m.default.describe, 'string');
    for (const f of m.fast ?? []) {
      assert.is(words(f.command)[0]!.name, c.name, f.command);
      assert.type(f.handler, 'function');
    }
  }
});

test.run();
