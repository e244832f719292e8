// ktrace help TOPIC: longer documentation than --help has room for.
import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../options.js';
import { CliError, EXIT_USAGE } from '../errors.js';

export const WORKLOAD_HELP = `Workload scripts: user tasks for \`ktrace run\`

A workload is a small script of system calls. Every call is made by an emulated user task with a
real \`syscall\` instruction into the kernel's entry_SYSCALL_64; nothing is short-cut.

  # a comment                     statements end at a newline or ';'
  fd = openat "/etc/motd"         call a system call, bind its result to a variable
  b = buf 256                     a zeroed user buffer of 256 bytes (private to the task)
  n = read fd b                   arguments: integers, variables, "strings", buffers, CONSTANTS
  write STDOUT b n                fds 0, 1 and 2 are /dev/console
  expect n > 0                    check a result (== != < <= > >=); failures are reported
  expect b == "Welcome"           compare a buffer's first bytes with a string
  expect fd == -ENOENT            errno names work as negative values
  p = buf 8; pipe2 p              p[0], p[1]: the buffer's 32-bit ints (pipe2, socketpair)
  fd = openat "/tmp/f" O_CREAT|O_WRONLY|O_TRUNC 0644
                                  flags combined with |; a leading 0 is octal (0644)
  repeat 10 { getpid }            a loop
  spawn 2 { ... }                 start 2 tasks (clone) running the block with a copy of the
                                  variables; each exits when its block ends

Arguments left out take defaults where the system call has a natural one: \`read fd b\` reads
sizeof(b), \`write fd "text"\` writes the string's length, \`openat "/path"\` opens relative to
AT_FDCWD read-only, \`wait4\` waits for any child, \`nanosleep 1000000\` sleeps 1 ms.
When the script ends, pid 1 reaps its children with wait4 and exits; the kernel then powers off.

System calls: read write close sched_yield nanosleep getpid socket sendto recvfrom socketpair exit
wait4 openat getppid gettid clock_gettime exit_group pipe2, and the fixture kernel's own:
ktrace_selftest WHICH V (kprobe_target(V) = V/3, or kprobe_target2(V) = V/3+1),
ktrace_selftest6 A1..A6 (kprobe_trace_selftest_target: their sum), ktrace_compute BUF LEN ROUNDS,
ktrace_crash TYPE (lkdtm-style crashes: 0 NULL write, 1 BUG, 2 panic, 3 unmapped read, 4 divide, 5 int3).
On real Linux (-k linux) the fixture kernel's own calls return -ENOSYS, and socketpair(AF_INET,
SOCK_STREAM), the fixture's extension, is made by ktrace from a TCP connection over 127.0.0.1.
Constants: STDIN STDOUT STDERR NULL AT_FDCWD O_RDONLY O_WRONLY O_RDWR O_CREAT O_EXCL O_TRUNC
O_APPEND O_NONBLOCK O_DIRECTORY O_CLOEXEC AF_UNIX AF_INET SOCK_STREAM SOCK_DGRAM SOCK_NONBLOCK
SOCK_CLOEXEC WNOHANG MSG_DONTWAIT CLOCK_REALTIME CLOCK_MONOTONIC.

Mistakes are reported before the kernel boots, with file:line:col and a caret. \`ktrace run -\` reads
the script from standard input; a UTF-8 byte order mark at the start is skipped.
Bundled workloads: \`ktrace run --list\`; their sources are in fixtures/workloads/.
`;

const TOPICS: Record<string, string> = { workload: WORKLOAD_HELP };

interface Args extends GlobalArgs { topic?: string }

const command: CommandModule<GlobalArgs, Args> = {
  command: 'help [topic]',
  describe: 'documentation topics (workload), or a command\'s help: ktrace help COMMAND',
  builder: (y) => y
    .positional('topic', { type: 'string', describe: `one of: ${Object.keys(TOPICS).join(', ')}` })
    .example('$0 help workload', 'the workload script language')
    .example('$0 help add', "the add command's options and examples, as ktrace add --help"),
  handler: async (args) => {
    const { out } = await import('../../output/write.js');
    if (!args.topic) {
      out(`Topics: ${Object.keys(TOPICS).join(', ')}\nRun \`ktrace help TOPIC\`, \`ktrace help COMMAND\`, or \`ktrace --help\` for the commands.\n`);
      return;
    }
    const { COMMANDS } = await import('../commands.js');
    const text = TOPICS[args.topic];
    if (!text && COMMANDS.some((c) => c.name === args.topic)) {
      // ktrace help COMMAND: that command's --help (as git help and perf help do).
      const { main } = await import('../cli.js');
      process.exitCode = await main([args.topic, '--help']);
      return;
    }
    if (!text) throw new CliError(`help: no topic or command '${args.topic}' (topics: ${Object.keys(TOPICS).join(', ')}; commands: ${COMMANDS.map((c) => c.name).join(', ')})`, EXIT_USAGE);
    out(text);
  },
};
export default command;
