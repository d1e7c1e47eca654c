import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFolder } from '../../../../../main/services/files/list.js';
import { ChosenFilesPolicy, rootsPolicy } from '../../../../../main/services/files/policy.js';

let base: string;
let root: string;
let outside: string;

beforeAll(async () => {
  base = await mkdtemp(path.join(os.tmpdir(), 'mmi-policy-'));
  root = path.join(base, 'root');
  outside = path.join(base, 'outside');
  await mkdir(path.join(root, 'sub'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(root, 'clip.mp4'), 'x');
  await writeFile(path.join(root, 'notes.txt'), 'x');
  await writeFile(path.join(root, '.hidden.mp4'), 'x');
  await writeFile(path.join(root, 'sub', 'deep.mkv'), 'x');
  await writeFile(path.join(outside, 'secret.mp4'), 'x');
  await symlink(path.join(outside, 'secret.mp4'), path.join(root, 'escape.mp4'));
  await symlink(outside, path.join(root, 'escape-dir'));
});
afterAll(() => rm(base, { recursive: true, force: true }));

describe('rootsPolicy (web host)', () => {
  it('allows files inside a root and answers their real path', async () => {
    const policy = await rootsPolicy([root]);
    expect(await policy.checkRead(path.join(root, 'sub', '..', 'clip.mp4'))).toBe(
      path.join(root, 'clip.mp4'),
    );
  });

  it('refuses paths outside every root, relative paths, and links leading out', async () => {
    const policy = await rootsPolicy([root]);
    await expect(policy.checkRead(path.join(outside, 'secret.mp4'))).rejects.toMatchObject({
      code: 'NOT_ALLOWED',
    });
    await expect(policy.checkRead(`${root}/../outside/secret.mp4`)).rejects.toMatchObject({
      code: 'NOT_ALLOWED',
    });
    await expect(policy.checkRead(path.join(root, 'escape.mp4'))).rejects.toMatchObject({
      code: 'NOT_ALLOWED',
    });
    await expect(policy.checkList(path.join(root, 'escape-dir'))).rejects.toMatchObject({
      code: 'NOT_ALLOWED',
    });
    await expect(policy.checkRead('clip.mp4')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('says FILE_NOT_FOUND only inside a root, NOT_ALLOWED outside (existence is not revealed)', async () => {
    const policy = await rootsPolicy([root]);
    await expect(policy.checkRead(path.join(root, 'missing.mp4'))).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
    });
    await expect(policy.checkRead(path.join(outside, 'missing.mp4'))).rejects.toMatchObject({
      code: 'NOT_ALLOWED',
    });
  });

  it('lists a folder: folders first, hidden entries left out, videos marked, parent only inside the root', async () => {
    const policy = await rootsPolicy([root]);
    const listing = await listFolder(policy, root);
    expect(listing.dir).toBe(root);
    expect(listing.parent).toBeNull();
    expect(listing.entries.map((e) => [e.name, e.kind, e.video])).toEqual([
      ['escape-dir', 'dir', false],
      ['sub', 'dir', false],
      ['clip.mp4', 'file', true],
      ['escape.mp4', 'file', true],
      ['notes.txt', 'file', false],
    ]);
    const sub = await listFolder(policy, path.join(root, 'sub'));
    expect(sub.parent).toBe(root);
    expect(sub.entries.map((e) => e.name)).toEqual(['deep.mkv']);
    const roots = await listFolder(policy);
    expect(roots).toMatchObject({ dir: null, roots: [root], entries: [{ path: root, kind: 'dir' }] });
  });
});

describe('ChosenFilesPolicy (Electron)', () => {
  it('allows exactly the chosen files and lists nothing', async () => {
    const policy = new ChosenFilesPolicy();
    const clip = path.join(root, 'clip.mp4');
    await expect(policy.checkRead(clip)).rejects.toMatchObject({ code: 'NOT_ALLOWED' });
    expect(await policy.allow(clip)).toBe(clip);
    expect(await policy.checkRead(clip)).toBe(clip);
    await expect(policy.checkRead(path.join(root, 'notes.txt'))).rejects.toMatchObject({
      code: 'NOT_ALLOWED',
    });
    await expect(policy.checkList(root)).rejects.toMatchObject({ code: 'NOT_ALLOWED' });
    expect(policy.roots).toEqual([]);
  });

  it('lets a model folder chosen in the folder dialog be read as a folder, and nothing beside it', async () => {
    const policy = new ChosenFilesPolicy();
    await expect(policy.checkList(root)).rejects.toMatchObject({ code: 'NOT_ALLOWED' });
    expect(await policy.allowFolder(root)).toBe(root);
    expect(await policy.checkList(root)).toBe(root);
    expect(await policy.checkList(`${root}${path.sep}`)).toBe(root);
    await expect(policy.checkList(base)).rejects.toMatchObject({ code: 'NOT_ALLOWED' });
    await expect(policy.checkRead(path.join(root, 'clip.mp4'))).rejects.toMatchObject({
      code: 'NOT_ALLOWED',
    });
    await expect(policy.allowFolder(path.join(root, 'missing'))).rejects.toMatchObject({
      code: 'FILE_NOT_FOUND',
    });
  });

  it('follows a chosen link to its real file', async () => {
    const policy = new ChosenFilesPolicy();
    await policy.allow(path.join(root, 'escape.mp4'));
    expect(await policy.checkRead(path.join(outside, 'secret.mp4'))).toBe(path.join(outside, 'secret.mp4'));
  });
});
