// ktrace tui [WORKLOAD]: a live view of a tracing session (perf top style). The emulator runs in
// slices scheduled with setImmediate, each turn bounded in host time, so ink repaints ≥10 times a
// second and keys are answered between turns. React and ink load only here (src/output/tui/*),
// never for the one-liners.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';

interface Args extends GlobalArgs {
  workload: string;
  cpus: number;
  seed: number;
  'max-insns': number;
}

/** Host milliseconds of emulation per event-loop turn: short enough that keys answer quickly. */
const TURN_MS = 20;

const command: CommandModule<GlobalArgs, Args> = {
  command: 'tui [workload]',
  describe: 'interactive view: watch the probes fire while a workload runs (hits, histograms, trace lines), change them live',
  builder: (y) => y
    .positional('workload', { type: 'string', default: 'default', describe: 'a bundled workload name or a script file' })
    .option('cpus', { alias: 'c', type: 'number', default: 2, describe: 'emulated CPUs (1-8)' })
    .option('seed', { alias: 's', type: 'number', default: 1, describe: 'seed for timer jitter and scheduling' })
    .option('max-insns', { type: 'number', default: 2_000_000_000, describe: 'instruction budget per run' })
    .example('$0 tui', 'the default workload with the defined events')
    .example('$0 tui pipe-pingpong --cpus 4', 'another workload')
    .epilog('Keys: a add (Tab completes), e/d enable/disable, x delete, h histogram field ($retval, fetch args), / filter, k kprobes/enabled, o optimization sysctl, p pause, r restart, ? help, q quit.'),
  handler: async (args) => {
    if (process.stdout.isTTY !== true || process.stdin.isTTY !== true) {
      throw new CliError('tui: needs a terminal (stdin and stdout); use `ktrace run` for a non-interactive run');
    }
    if (!Number.isInteger(args.cpus) || args.cpus < 1 || args.cpus > 8) throw new CliError('tui: --cpus must be an integer from 1 to 8', EXIT_USAGE);
    if (!Number.isSafeInteger(args.seed)) throw new CliError('tui: --seed must be an integer', EXIT_USAGE);
    if (!Number.isSafeInteger(args['max-insns']) || args['max-insns'] <= 0) throw new CliError('tui: --max-insns must be a positive integer', EXIT_USAGE);
    const { loadWorkload } = await import('../workload.js');
    const script = loadWorkload(args.workload);
    const { loadBootableImage } = await import('../image.js');
    const image = loadBootableImage(args.vmlinux, 'tui');
    const { isLinuxImage } = await import('../../kernel/linux/bundle.js');
    if (isLinuxImage(image)) await import('../../kernel/linux/task-layout.js'); // its task layout reader (kernel/task-layout.ts)
    if (isLinuxImage(image) && args.cpus > 4) throw new CliError('tui: real Linux runs on 1 to 4 CPUs (its CONFIG_NR_CPUS)', EXIT_USAGE);
    const { stateDir } = await import('../state/dir.js');
    const { colorEnabled } = await import('../../output/tty.js');
    const { createTuiSession } = await import('../tui-session.js');
    // ink draws only the final frame when it believes it runs under CI (is-in-ci reads CI and
    // CONTINUOUS_INTEGRATION when ink is imported); the TUI runs only on a terminal someone watches.
    delete process.env.CI;
    delete process.env.CONTINUOUS_INTEGRATION;
    const { runTui } = await import('../../output/tui/run.js');
    const session = await createTuiSession({
      image, vmlinux: args.vmlinux, dir: stateDir(args.state), script,
      cpus: args.cpus, seed: args.seed, maxInsns: args['max-insns'], turnMs: TURN_MS,
    });
    session.start();
    await runTui(session.ctl, { color: colorEnabled(process.stdout) });
    session.fold();
  },
};
export default command;
