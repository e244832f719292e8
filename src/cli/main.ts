// The ktrace executable's entry point (bin/ktrace imports this): run the CLI, turn anything
// that escapes into one line and an exit status.
import { main, report } from './cli.js';
import { guardStderr } from '../output/write.js';

guardStderr();

process.on('uncaughtException', (e) => { process.exitCode = report(e); });
process.on('unhandledRejection', (e) => { process.exitCode = report(e); });

process.exitCode = await main(process.argv.slice(2));
