// The ktrace executable's entry point (bin/ktrace imports this): run the CLI, turn anything
// that escapes into one line and an exit status.
import { main, report } from './cli.js';
import { directStdout, guardStderr } from '../output/write.js';

guardStderr();
directStdout();

// An escaped error is a bug: say it in one line, then end, even if timers or a half-done run would
// keep the process alive (what was written to stdout gets a moment to drain).
const fatal = (e: unknown) => {
  process.exitCode = report(e);
  setTimeout(() => process.exit(), 200).unref();
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

process.exitCode = await main(process.argv.slice(2));
