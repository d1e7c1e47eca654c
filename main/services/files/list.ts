import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../app/contract/errors.js';
import type { FileEntry, FileListing } from '../../../app/contract/files.js';
import { isVideoFileName } from '../../../app/domain/video-files.js';
import type { FileAccessPolicy } from './policy.js';

// A folder's contents for the web host's file browser, inside the policy's roots only.

export async function listFolder(policy: FileAccessPolicy, dir?: string): Promise<FileListing> {
  const roots = [...policy.roots];
  if (dir === undefined) {
    return {
      dir: null,
      parent: null,
      roots,
      entries: roots.map((root) => ({ name: root, path: root, kind: 'dir', sizeBytes: null, video: false })),
    };
  }
  const resolved = await policy.checkList(dir);
  let dirents: Dirent[];
  try {
    dirents = await readdir(resolved, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new AppError(
      code === 'ENOTDIR' ? 'BAD_REQUEST' : 'NOT_ALLOWED',
      `Cannot list ${dir}: ${code ?? String(err)}`,
    );
  }
  const entries = await Promise.all(
    dirents.filter((d) => !d.name.startsWith('.')).map((d) => describe(path.join(resolved, d.name), d)),
  );
  const kept = entries.filter((e): e is FileEntry => e !== null);
  kept.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'dir' ? -1 : 1));
  const above = path.dirname(resolved);
  const parent =
    above !== resolved &&
    (await policy.checkList(above).then(
      () => true,
      () => false,
    ))
      ? above
      : null;
  return { dir: resolved, parent, roots, entries: kept };
}

async function describe(full: string, dirent: Dirent): Promise<FileEntry | null> {
  // Follow links to learn what they point at; a broken link is left out.
  const info = await stat(full).catch(() => null);
  if (info === null || !(info.isDirectory() || info.isFile())) return null;
  const name = dirent.name;
  return info.isDirectory()
    ? { name, path: full, kind: 'dir', sizeBytes: null, video: false }
    : { name, path: full, kind: 'file', sizeBytes: info.size, video: isVideoFileName(name) };
}
