// Mounts the `ktrace tui` screen on the terminal; resolves when the user quits (ink restores the
// terminal: cursor shown, raw mode off). The App follows the terminal's size as it is resized.
import React from 'react';
import { render } from 'ink';
import { App, type TuiController } from './app.js';

export async function runTui(ctl: TuiController, opts: { color: boolean }): Promise<void> {
  // Ctrl-C is handled by the App (useInput) so the controller stops the emulator first.
  const inst = render(<App ctl={ctl} color={opts.color} />, { exitOnCtrlC: false });
  await inst.waitUntilExit();
}
