// The one error type of src/elf: every malformed, truncated or unsupported input ends here,
// so callers (the CLI) can print `ktrace: <file>: <message>` and never a stack trace.

export class ElfError extends Error {
  /** File offset the problem was found at, when there is one. */
  readonly offset: number | undefined;
  constructor(message: string, offset?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ElfError';
    this.offset = offset;
  }
}
