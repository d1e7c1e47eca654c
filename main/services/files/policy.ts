import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../app/contract/errors.js';

// Which files the API may touch. The web host serves a browser, so it allows folders (roots) given when it
// starts; Electron allows exactly the files the user picked in a dialog or dropped on the window. Paths are
// compared after resolving symbolic links, so a link inside a root cannot lead outside it.

export interface FileAccessPolicy {
  /** Folders offered for browsing; empty when the host offers none (Electron). */
  readonly roots: readonly string[];
  /** The real path of a file the caller may read; NOT_ALLOWED, or FILE_NOT_FOUND for a missing allowed path. */
  checkRead(file: string): Promise<string>;
  /** The real path of a folder the caller may list. */
  checkList(dir: string): Promise<string>;
}

function requireAbsolute(p: string): string {
  if (!path.isAbsolute(p)) throw new AppError('BAD_REQUEST', `Not an absolute path: ${p}`);
  return path.resolve(p);
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

async function real(p: string): Promise<string> {
  try {
    return await realpath(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw new AppError('NOT_ALLOWED', `Permission denied: ${p}`);
    throw new AppError('FILE_NOT_FOUND', `No such file or folder: ${p}`);
  }
}

/** A file to read must be a regular file: a named pipe or a device would block or never end, a folder is no
 * video. */
async function regularFile(resolved: string, asked: string): Promise<string> {
  if (!(await stat(resolved)).isFile()) throw new AppError('BAD_REQUEST', `Not a regular file: ${asked}`);
  return resolved;
}

/** Everything inside the given folders (the web host's roots). The roots must exist. */
export async function rootsPolicy(roots: readonly string[]): Promise<FileAccessPolicy> {
  const realRoots = await Promise.all(roots.map((root) => real(path.resolve(root))));
  const unique = [...new Set(realRoots)];
  const check = async (p: string): Promise<string> => {
    const wanted = requireAbsolute(p);
    // Refuse by name first, so a path outside every root says nothing about whether it exists.
    if (
      !unique.some((root) => inside(root, wanted)) &&
      !roots.some((root) => inside(path.resolve(root), wanted))
    ) {
      throw new AppError('NOT_ALLOWED', `Outside the allowed folders: ${p}`);
    }
    const resolved = await real(wanted);
    if (!unique.some((root) => inside(root, resolved))) {
      throw new AppError('NOT_ALLOWED', `Leads outside the allowed folders: ${p}`);
    }
    return resolved;
  };
  return {
    roots: unique,
    checkRead: async (p) => regularFile(await check(p), p),
    checkList: check,
  };
}

/** Exactly the files the user chose (Electron's dialog and drops), and the model folders chosen in the folder
 * dialog (which may be read as models and listed, but not browsed above or beside). */
export class ChosenFilesPolicy implements FileAccessPolicy {
  readonly roots: readonly string[] = [];
  private readonly chosen = new Set<string>();
  private readonly chosenFolders = new Set<string>();

  /** Allows a file the user picked; answers its real path. */
  async allow(file: string): Promise<string> {
    const resolved = await real(requireAbsolute(file));
    this.chosen.add(resolved);
    return resolved;
  }

  async checkRead(file: string): Promise<string> {
    const wanted = requireAbsolute(file);
    const resolved = this.chosen.has(wanted) ? wanted : await real(wanted).catch(() => null);
    if (resolved === null || !this.chosen.has(resolved)) {
      throw new AppError('NOT_ALLOWED', `Not a file you opened: ${file}`);
    }
    return regularFile(resolved, file);
  }

  /** Allows a folder the user picked in the folder dialog; answers its real path. */
  async allowFolder(dir: string): Promise<string> {
    const resolved = await real(requireAbsolute(dir));
    this.chosenFolders.add(resolved);
    return resolved;
  }

  async checkList(dir: string): Promise<string> {
    const resolved = await real(requireAbsolute(dir)).catch(() => null);
    if (resolved === null || !this.chosenFolders.has(resolved)) {
      throw new AppError('NOT_ALLOWED', `Browsing folders is not available here: ${dir}`);
    }
    return resolved;
  }
}
