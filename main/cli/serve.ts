import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { AppError, type ErrorCode } from '../../app/contract/errors.js';
import { createServices, rootsPolicy } from '../dispatch/index.js';
import { createHostBackend } from '../web/backend.js';
import { startWebHost } from '../web/host.js';
import { processIo, reportError, usageError } from './io.js';

// `mmi serve`: the app in a browser. Binds loopback unless --host names another address, requires the per-run
// token in the URL it prints, and lets the browser open files only under the --root folders (default: the
// current folder).

const usage = `Usage: mmi serve [--port P] [--root DIR ...] [--host ADDRESS]

  --port P        port to listen on (default: a free one)
  --root DIR      a folder the browser may open videos from; repeat for more (default: the current folder)
  --host ADDRESS  address to bind instead of 127.0.0.1; anyone who can reach it and has the printed URL
                  (it carries the token) can use the app`;

interface ServeOptions {
  port: number;
  roots: string[];
  host: string;
}

export async function run(argv: string[]): Promise<number> {
  let parsed: ServeOptions | 'help';
  try {
    parsed = await parseServeArgs(argv);
  } catch (err) {
    return reportError(
      processIo,
      usageError(`mmi serve: ${err instanceof Error ? err.message : String(err)}`),
    );
  }
  if (parsed === 'help') {
    console.log(usage);
    return 0;
  }
  const options = parsed;

  const services = createServices();
  let host: Awaited<ReturnType<typeof startWebHost>>;
  try {
    const files = await rootsPolicy(options.roots);
    host = await startWebHost({
      backend: createHostBackend(services, files),
      port: options.port,
      bindAddress: options.host,
    });
  } catch (err) {
    await services.close();
    return reportError(processIo, startError(err, options));
  }

  // Listen for Ctrl+C before printing the URL: whoever reads it may stop the host at once.
  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log(`MMI Studio is being served at:\n\n  ${host.url}\n`);
  console.log(`Open that URL in a browser (it carries this run's access token).`);
  console.log(`Videos can be opened from: ${options.roots.join(', ')}`);
  if (options.host !== '127.0.0.1') {
    console.log(`Warning: listening on ${options.host}, not only this machine; keep the URL private.`);
  }
  console.log('Press Ctrl+C to stop.');

  await stopRequested;
  console.log('Stopping…');
  await host.close();
  await services.close();
  return 0;
}

async function parseServeArgs(argv: string[]): Promise<ServeOptions | 'help'> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      root: { type: 'string', multiple: true },
      host: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new Error(`unexpected argument ${positionals[0]}`);
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0–65535, not ${values.port}`);
  // Under `npm start`/`npm run serve` the current folder is the package's; INIT_CWD is where the user ran npm.
  const here = process.env['INIT_CWD'] ?? process.cwd();
  const roots = (values.root ?? [here]).map((root) => path.resolve(here, root));
  for (const root of roots) {
    const isDir = await stat(root).then(
      (s) => s.isDirectory(),
      () => false,
    );
    if (!isDir) throw new Error(`--root ${root} is not a folder`);
  }
  return { port, roots, host: values.host ?? '127.0.0.1' };
}

/** Why the host could not start, as an AppError (a policy error from the roots passes through). */
function startError(err: unknown, options: ServeOptions): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const fail = (errorCode: ErrorCode, message: string) => new AppError(errorCode, `mmi serve: ${message}`);
  if (code === 'EADDRINUSE')
    return fail('BAD_REQUEST', `port ${options.port} on ${options.host} is in use (try --port 0)`);
  if (code === 'EADDRNOTAVAIL')
    return fail('BAD_REQUEST', `${options.host} is not an address of this machine`);
  if (code === 'EACCES') return fail('NOT_ALLOWED', `not permitted to listen on port ${options.port}`);
  return err;
}
