// Mounts the `ktrace tui` screen on the terminal; resolves when the user quits (ink restores the
// terminal: cursor shown, raw mode off). The App follows the terminal's size as it is resized.
import React from 'react';
import { render } from 'ink';
import { App, type TuiController } from './app.js';

export async function runTui(ctl: TuiController, opts: { color: boolean }): Promise<void> {
  // Ctrl-C is handled by the App (useInput) so the controller stops the emulator first. ink
  // throttles frames to maxFps (30 by default: up to 34 ms before a key's effect shows); at 60 a
  // key's answer waits at most one emulator turn plus 17 ms.
  const inst = render(<App ctl={ctl} color={opts.color} />, { exitOnCtrlC: false, maxFps: 60 });
  await inst.waitUntilExit();
}
