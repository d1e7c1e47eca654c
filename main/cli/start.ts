import { spawn } from 'node:child_process';
import { AppError } from '../../app/contract/errors.js';
import { findElectronBinary } from '../electron/binary.js';
import { packageRoot } from '../services/resources.js';
import { processIo, reportError } from './io.js';
import { run as serve } from './serve.js';

// `mmi start` (and `npm start`): the desktop app when an Electron binary is on disk; otherwise it says why and
// serves the same app to a browser (`mmi serve`), with the same arguments.

export async function run(argv: string[]): Promise<number> {
  const lookup = findElectronBinary();
  const display = Boolean(process.env['DISPLAY'] ?? process.env['WAYLAND_DISPLAY']);
  if (lookup.found && display) return launchElectron(lookup.path);

  const why = lookup.found ? 'there is no display (DISPLAY and WAYLAND_DISPLAY are unset)' : lookup.reason;
  console.log(`Electron is not available on this machine: ${why}.`);
  console.log('Starting the web host instead: the same app, in your browser (this is `mmi serve`).\n');
  return serve(argv);
}

function launchElectron(binary: string): Promise<number> {
  // Chromium will not start as root with its sandbox on; say so rather than fail without a word.
  const asRoot = process.getuid?.() === 0;
  if (asRoot)
    console.warn('Running as root: starting Electron with --no-sandbox. Run as a normal user to keep it.');
  const args = [...(asRoot ? ['--no-sandbox'] : []), packageRoot()];
  return new Promise((resolve) => {
    const child = spawn(binary, args, { stdio: 'inherit' });
    child.once('error', (err) => {
      resolve(
        reportError(processIo, new AppError('INTERNAL', `mmi start: cannot run ${binary}: ${err.message}`)),
      );
    });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}
