#!/usr/bin/env node
// The `mmi` command: runs the compiled CLI (dist/main/cli/index.js, built by `npm run build:ts`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/main/cli/index.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(
    'error INTERNAL: mmi is not built (no dist/main/cli/index.js): run `npm run build:ts`\n',
  );
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
