// Reading a model folder's JSON files (config.json, tokenizer.json, ...) as the engine reads its own
// (native/runtime's folder_file and read_json_file): a link may lead only inside the folder, or — for a Hugging
// Face cache snapshot (<repo>/snapshots/<revision>) — into that repository's blobs/; only a regular file of
// bounded size is read (a FIFO is opened without waiting for a writer, then refused); the bytes must be UTF-8.
// Anything else is a PromptFilesError naming the file, so a hostile folder cannot make the app read elsewhere,
// hang, or run out of memory.
import { constants } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import path from 'node:path';

import { PromptFilesError } from './family.js';

/** The engine's limit for a JSON file of a model folder. */
export const maxModelJsonBytes = 64 * 1024 * 1024;

function inside(file: string, root: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

async function containedPath(dir: string, name: string, file: string): Promise<string> {
  const root = await realpath(dir);
  let target: string;
  try {
    target = await realpath(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PromptFilesError(
      code === 'ENOENT' ? 'MODEL_FILE_MISSING' : 'MODEL_FILE_INVALID',
      name,
      `is a link that cannot be followed (${code ?? (err as Error).message})`,
    );
  }
  if (inside(target, root)) return target;
  if (path.basename(path.dirname(root)) === 'snapshots') {
    const blobs = path.join(path.dirname(path.dirname(root)), 'blobs');
    if (inside(target, await realpath(blobs).catch(() => blobs))) return target;
  }
  throw new PromptFilesError('MODEL_FILE_INVALID', name, `is a link to ${target}, outside the model folder`);
}

/** The text of `name` in `dir`; undefined when it is absent and not required. */
export async function readModelText(
  dir: string,
  name: string,
  required: boolean,
): Promise<string | undefined> {
  const file = path.join(dir, name);
  let link: boolean;
  try {
    link = (await lstat(file)).isSymbolicLink();
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PromptFilesError('MODEL_FILE_MISSING', name, `cannot be read (${(err as Error).message})`);
  }
  const real = link ? await containedPath(dir, name, file) : file;
  let bytes: Buffer;
  try {
    const handle = await open(real, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw new PromptFilesError('MODEL_FILE_INVALID', name, 'is not a regular file');
      if (info.size > maxModelJsonBytes) {
        throw new PromptFilesError('MODEL_FILE_INVALID', name, `is larger than ${maxModelJsonBytes} bytes`);
      }
      // Only the bytes stat counted: a file that grows meanwhile cannot take more memory.
      bytes = Buffer.alloc(info.size);
      let filled = 0;
      while (filled < info.size) {
        const { bytesRead } = await handle.read(bytes, filled, info.size - filled, filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      bytes = bytes.subarray(0, filled);
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof PromptFilesError) throw err;
    throw new PromptFilesError('MODEL_FILE_MISSING', name, `cannot be read (${(err as Error).message})`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new PromptFilesError('MODEL_FILE_INVALID', name, 'is not UTF-8 text');
  }
}

/** The parsed JSON of `name` in `dir`; undefined when it is absent and not required. */
export async function readModelJson(dir: string, name: string, required: boolean): Promise<unknown> {
  const text = await readModelText(dir, name, required);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new PromptFilesError('MODEL_FILE_INVALID', name, `is not valid JSON (${(err as Error).message})`);
  }
}
