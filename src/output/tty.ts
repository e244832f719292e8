// Terminal detection: colour only for a TTY, and never when NO_COLOR is set (https://no-color.org).
import { fstatSync } from 'node:fs';
export interface Stream { isTTY?: boolean }

export function isTTY(stream: Stream = process.stdout): boolean {
  return stream.isTTY === true;
}

/**
 * stdout as colorEnabled's stream, without making process.stdout when fd 1 cannot be a terminal (a
 * pipe, a file, /dev/null; making the stream loads Node's stream modules).
 */
export function stdoutStream(): Stream {
  try {
    const st = fstatSync(1);
    // Memory devices (major 1: /dev/null, /dev/zero) are character devices, never terminals.
    if (!st.isCharacterDevice() || ((st.rdev >> 8) & 0xfff) === 1) return { isTTY: false };
  } catch { /* no fd 1: as Node sees it */ }
  return process.stdout;
}

/** --color=never|always|auto (the CLI sets it once per process; auto: a terminal, and no NO_COLOR). */
export type ColorMode = 'never' | 'always' | 'auto';
export const COLOR_MODES: readonly ColorMode[] = ['never', 'always', 'auto'];
let mode: ColorMode = 'auto';
export function setColorMode(m: ColorMode): void { mode = m; }

export function colorEnabled(stream: Stream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (mode !== 'auto') return mode === 'always';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return isTTY(stream) && env.TERM !== 'dumb';
}

const CODES = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], blue: [34, 39], cyan: [36, 39] } as const;
export type Style = keyof typeof CODES;

/** A styler that is the identity when colour is off. */
export function styler(on: boolean): (style: Style, text: string) => string {
  return on ? (style, text) => `\x1b[${CODES[style][0]}m${text}\x1b[${CODES[style][1]}m` : (_s, text) => text;
}

export type Styler = (style: Style, text: string) => string;
export const plain: Styler = (_s, text) => text;

/**
 * A trace chunk with each event name coloured (`... 0.000270: vfs_read: (...)`): the word after the
 * timestamp, as `perf script` colours event names on a terminal.
 */
export function colorTrace(text: string, style: Styler): string {
  return text.replace(/^( *\S.*?-\d+ +(?:\(.{7}\) +)?\[\d{3}\] \S{4,5} +\d+\.\d+: )([^:\s]+)(:)/gm, (_m, a: string, name: string, c: string) => a + style(name === '<stack' ? 'dim' : 'cyan', name) + c);
}
