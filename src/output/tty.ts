// Terminal detection: colour only for a TTY, and never when NO_COLOR is set (https://no-color.org).
export interface Stream { isTTY?: boolean }

export function isTTY(stream: Stream = process.stdout): boolean {
  return stream.isTTY === true;
}

export function colorEnabled(stream: Stream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
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
