// Runs cases on the host CPU through the C harness (harness.c), compiled with gcc into a temporary directory.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../../src/paths.js';
import {
  type CaseInput, type CaseOutput, DATA_SIZE, bytesToHex, diffOutput, expandInput, hexToBytes,
} from './corpus.js';

export const HARNESS_SOURCE = join(ROOT, 'test', 'emu', 'hostdiff', 'harness.c');

/** Whether the native side can run here: x86-64 Linux with gcc. */
export function nativeAvailable(): { ok: true } | { ok: false; reason: string } {
  if (process.arch !== 'x64' || process.platform !== 'linux') return { ok: false, reason: `host is ${process.platform}/${process.arch}, not linux/x64` };
  const r = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { ok: false, reason: 'gcc not found' };
  return { ok: true };
}

export interface NativeRunner { run(cases: CaseInput[]): CaseOutput[]; dispose(): void }

/** Compiles the harness; throws with gcc's message when it does not build. */
export function buildNative(): NativeRunner {
  const dir = mkdtempSync(join(tmpdir(), 'ktrace-hostdiff-'));
  const exe = join(dir, 'harness');
  const cc = spawnSync('gcc', ['-O1', '-o', exe, HARNESS_SOURCE], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc failed to build ${HARNESS_SOURCE}:\n${cc.stderr}`);
  return {
    run(cases) {
      const out: CaseOutput[] = [];
      for (let i = 0; i < cases.length; i += 1000) {
        const batch = cases.slice(i, i + 1000);
        const inputs = batch.map(expandInput);
        const text = inputs.map((x, j) => [batch[j].code, x.flags.toString(16), ...x.regs.map((r) => r.toString(16)),
          bytesToHex(x.data)].join(' ')).join('\n') + '\n';
        const r = spawnSync(exe, [], { input: text, encoding: 'utf8', maxBuffer: 1 << 30 });
        if (r.status !== 0) throw new Error(`native harness exited with ${r.status}: ${r.stderr}`);
        const lines = r.stdout.split('\n').filter((l) => l.length);
        if (lines.length !== batch.length) throw new Error(`native harness answered ${lines.length} of ${batch.length} cases`);
        lines.forEach((line, j) => {
          const t = line.split(' ');
          if (t[0] === 'ok') {
            const regs = t.slice(2, 18).map((h) => BigInt('0x' + h));
            const data = hexToBytes(t[18]);
            if (data.length !== DATA_SIZE) throw new Error('native harness: short data region');
            out.push(diffOutput(inputs[j], { regs, flags: parseInt(t[1], 16), data }));
          } else if (t[0] === 'sig') {
            const regs = t.slice(7, 23).map((h) => BigInt('0x' + h));
            const data = hexToBytes(t[23]);
            if (data.length !== DATA_SIZE) throw new Error('native harness: short data region');
            const st = diffOutput(inputs[j], { regs, flags: parseInt(t[6], 16), data });
            out.push({ ok: false, sig: +t[1], rip: parseInt(t[2], 16), vector: parseInt(t[3], 16), err: parseInt(t[4], 16),
              // CR2 in the signal frame is only this fault's for #PF (an older value otherwise)
              addr: t[3] === 'e' ? Number(BigInt.asIntN(64, BigInt('0x' + t[5]))) : 0, flags: st.flags, regs: st.regs, mem: st.mem });
          } else throw new Error(`native harness: ${line} (case ${batch[j].form} ${batch[j].code})`);
        });
      }
      return out;
    },
    dispose() { rmSync(dir, { recursive: true, force: true }); },
  };
}
