// Writing command output: data to stdout; a closed pipe (`ktrace ... | head`) ends quietly.
let guarded = false;

export function guardPipe(): void {
  if (guarded) return;
  guarded = true;
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

export function out(text: string): void {
  guardPipe();
  process.stdout.write(text);
}
