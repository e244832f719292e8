// Errors the CLI reports as one line (`ktrace: <message>`) with an exit code; anything else that
// escapes a command is a bug and is reported as an internal error.

export class CliError extends Error {
  readonly exitCode: number;
  /** Print the message as is, without the `ktrace: ` prefix (e.g. `cat: PATH: No such file or directory`). */
  readonly bare: boolean;
  constructor(message: string, exitCode = 1, opts: { bare?: boolean } = {}) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.bare = opts.bare ?? false;
  }
}

/** Exit codes: 1 for failures, 2 for usage errors (as yargs/getopt conventions have it). */
export const EXIT_FAILURE = 1, EXIT_USAGE = 2;
