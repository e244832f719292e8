// ktrace run [WORKLOAD]: boot the kernel, run a workload of user tasks against it, report.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';

interface Args extends GlobalArgs {
  workload: string;
  cpus: number;
  seed: number;
  'max-insns': number;
  'timer-period'?: number;
  json: boolean;
  console: boolean;
  timing: boolean;
  list: boolean;
}

const command: CommandModule<GlobalArgs, Args> = {
  command: 'run [workload]',
  describe: 'boot the kernel and run a workload script against it',
  builder: (y) => y
    .positional('workload', { type: 'string', default: 'default', describe: 'a bundled workload name or a script file (see `ktrace help workload`)' })
    .option('cpus', { alias: 'c', type: 'number', default: 2, describe: 'emulated CPUs (1-8)' })
    .option('seed', { alias: 's', type: 'number', default: 1, describe: 'seed for timer jitter and scheduling' })
    .option('max-insns', { type: 'number', default: 2_000_000_000, describe: 'instruction budget: a runaway kernel ends cleanly here' })
    .option('timer-period', { type: 'number', describe: 'timer interrupt period in instructions (default 100000)' })
    .option('json', { type: 'boolean', default: false, describe: 'print the results as one JSON object' })
    .option('console', { type: 'boolean', default: true, describe: 'include the kernel console in the summary (--no-console hides it)' })
    .option('timing', { type: 'boolean', default: true, describe: 'print host time and MIPS (--no-timing for byte-identical output)' })
    .option('list', { type: 'boolean', default: false, describe: 'list the bundled workloads' })
    .example('$0 run', 'run the default workload on 2 CPUs')
    .example('$0 run pipe-pingpong --cpus 4 --seed 7', 'a bundled workload, 4 CPUs, another seed')
    .example('$0 run my.wl --json | jq .syscalls', 'your own script, results as JSON')
    .example('$0 run --list', 'the bundled workloads'),
  handler: async (args) => {
    const { bundledWorkloads, loadWorkload } = await import('../workload.js');
    const { out } = await import('../../output/write.js');
    if (args.list) {
      out(bundledWorkloads().join('\n') + '\n');
      return;
    }
    if (!Number.isInteger(args.cpus) || args.cpus < 1 || args.cpus > 8) throw new CliError('run: --cpus must be an integer from 1 to 8', EXIT_USAGE);
    if (!Number.isSafeInteger(args.seed)) throw new CliError('run: --seed must be an integer', EXIT_USAGE);
    if (!Number.isSafeInteger(args['max-insns']) || args['max-insns'] <= 0) throw new CliError('run: --max-insns must be a positive integer', EXIT_USAGE);
    const tp = args['timer-period'];
    if (tp !== undefined && (!Number.isSafeInteger(tp) || tp < 0)) throw new CliError('run: --timer-period must be a non-negative integer', EXIT_USAGE);
    const script = loadWorkload(args.workload);
    const { loadImage } = await import('../image.js');
    const image = loadImage(args.vmlinux);
    const { runScriptAsync } = await import('../../kernel/session.js');
    const { renderRunSummary, runResultJson } = await import('../../output/run-summary.js');

    let interrupted = false;
    const onSigint = () => { interrupted = true; };
    process.on('SIGINT', onSigint);
    const spinner = process.stderr.isTTY ? (await import('ora')).default({ text: `booting ${script.file}`, stream: process.stderr }).start() : undefined;
    let result;
    try {
      result = await runScriptAsync(image, script, {
        cpus: args.cpus, seed: args.seed, maxInsns: args['max-insns'], timerPeriod: tp,
        shouldStop: () => interrupted,
        onProgress: spinner && ((p) => { spinner.text = `${script.file}: ${(p.instructions / 1e6).toFixed(1)}M instructions, ${p.syscalls} system calls`; }),
      });
    } finally {
      spinner?.stop();
      process.off('SIGINT', onSigint);
    }
    if (args.json) out(runResultJson(result) + '\n');
    else out(renderRunSummary(result, { console: args.console, timing: args.timing }));
    process.exitCode = result.exitCode;
  },
};
export default command;
