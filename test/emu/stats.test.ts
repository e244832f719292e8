import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { STATS_ON, stats, resetStats, snapshot } from '../../src/emu/stats.js';
import { setup } from './util.js';

test('counters stay at zero when off and count blocks when KTRACE_EMU_STATS=1', () => {
  const { m, c } = setup('48ffc0 ebfb');
  m.run(c, 1000);
  if (!STATS_ON) {
    assert.equal(Object.values(snapshot()).filter((v) => v !== 0), []);
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, KTRACE_EMU_STATS: '1', KTRACE_STATS_CHILD: '1' }, encoding: 'utf8' });
    assert.match(out, 'blocksRun=');
    const n = Number(/blocksRun=(\d+)/.exec(out)![1]);
    assert.ok(n >= 1, out);
  } else {
    console.log(`NOTE blocksRun=${stats.blocksRun} blocksCompiled=${stats.blocksCompiled}`);
    assert.ok(stats.blocksCompiled >= 1);
    resetStats();
    assert.is(stats.blocksRun, 0);
  }
});

if (process.env.KTRACE_STATS_CHILD !== '1') test.run();
else { const { m, c } = setup('48ffc0 ebfb'); m.run(c, 1000); console.log(`blocksRun=${stats.blocksRun}`); }
