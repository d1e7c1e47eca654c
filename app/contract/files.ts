import { z } from 'zod';

// Browsing for a video in the web host: the folders the host allows (its roots) and their contents.

export const FileEntrySchema = z.object({
  name: z.string(),
  /** Absolute path, usable as `video.probe`'s `path`. */
  path: z.string(),
  kind: z.enum(['dir', 'file']),
  /** Size in bytes for files; null for folders. */
  sizeBytes: z.number().int().nonnegative().nullable(),
  /** A file whose extension names a video container. */
  video: z.boolean(),
});
export type FileEntry = z.infer<typeof FileEntrySchema>;

export const FileListingSchema = z.object({
  /** The folder listed; null for the list of roots. */
  dir: z.string().nullable(),
  /** The folder above, when it is still inside a root; null at a root or for the roots list. */
  parent: z.string().nullable(),
  roots: z.array(z.string()),
  /** Folders first, then files, each sorted by name; hidden entries left out. */
  entries: z.array(FileEntrySchema),
});
export type FileListing = z.infer<typeof FileListingSchema>;
