// A leaf utility for every layer. Text from a user's input shown back in an error: characters a terminal would not show as
// themselves (controls, escapes, bidi overrides, line separators, lone surrogates) become visible,
// so an error is the lines it says it is, and a caret under a column still points at its character.

/** Invisible characters, one UTF-16 unit each (an astral character's surrogate pair stays whole). */
const INVISIBLE_UNIT = /[\p{Cc}\p{Cf}\p{Co}\p{Zl}\p{Zp}]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/gu;

/**
 * One line of input as shown above a caret: each invisible unit becomes `?` (a tab a space), so
 * columns are unchanged.
 */
export function visibleColumns(line: string): string {
  return line.replace(INVISIBLE_UNIT, (c) => (c === '\t' ? ' ' : '?'));
}

/** A message quoting input: each invisible character written as `\xNN` or `U+NNNN`; newlines kept. */
export function visibleText(s: string): string {
  return s.replace(INVISIBLE_UNIT, (c) => {
    if (c === '\n') return c;
    const n = c.codePointAt(0)!;
    return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `U+${n.toString(16).toUpperCase().padStart(4, '0')}`;
  });
}

/** A one-line message quoting input: visible (visibleText), and cut at `max` characters. */
export function visibleMessage(s: string, max = 240): string {
  const v = visibleText(s).replace(/\n/g, ' ');
  return v.length > max ? v.slice(0, max - 3) + '...' : v;
}
