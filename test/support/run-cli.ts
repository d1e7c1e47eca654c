// Runs the `mmi` CLI in this process with its output captured (not a terminal: no progress lines).
import { main } from '../../main/cli/index.js';
import type { CliIo } from '../../main/cli/io.js';

export async function mmi(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), interactive: false };
  const code = await main(argv, io);
  return { code, out, err };
}
