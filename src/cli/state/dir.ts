// Where the state directory is: --state DIR, then $KTRACE_STATE, then the XDG state home
// ($XDG_STATE_HOME/ktrace, default ~/.local/state/ktrace: per-user data that outlives a process
// but is not configuration, per the XDG Base Directory specification).
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export function stateDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.KTRACE_STATE) return resolve(env.KTRACE_STATE);
  const xdg = env.XDG_STATE_HOME;
  // The spec says a relative $XDG_STATE_HOME is invalid and must be ignored.
  if (xdg && xdg.startsWith('/')) return join(xdg, 'ktrace');
  return join(homedir(), '.local', 'state', 'ktrace');
}
