import { z } from 'zod';

// Binary data never travels over the command channel: the video's bytes (with Range, for <video> seeking) and
// timeline thumbnails are plain GETs under /api/media/, served by the web host over HTTP and by Electron's app://
// protocol. These builders and query schemas are the one definition of those URLs for both sides.

export const mediaRoutes = {
  /** The file's bytes; honours Range. Query: path. */
  video: '/api/media/video',
  /** One frame as JPEG. Query: path, t (seconds from the video's start), h (height in pixels). */
  thumbnail: '/api/media/thumbnail',
} as const;

export const thumbnailHeights = { min: 16, max: 720, default: 90 } as const;

export const VideoQuerySchema = z.object({ path: z.string().min(1) });
export type VideoQuery = z.infer<typeof VideoQuerySchema>;

export const ThumbnailQuerySchema = z.object({
  path: z.string().min(1),
  t: z.coerce.number().nonnegative().finite(),
  h: z.coerce
    .number()
    .int()
    .min(thumbnailHeights.min)
    .max(thumbnailHeights.max)
    .default(thumbnailHeights.default),
});
export type ThumbnailQuery = z.infer<typeof ThumbnailQuerySchema>;

/** Path and query (no origin, no token): the caller prefixes its base and adds its credentials. */
export function videoUrl(path: string): string {
  return `${mediaRoutes.video}?${new URLSearchParams({ path }).toString()}`;
}

export function thumbnailUrl(
  path: string,
  timeSec: number,
  height: number = thumbnailHeights.default,
): string {
  const query = new URLSearchParams({ path, t: String(timeSec), h: String(height) });
  return `${mediaRoutes.thumbnail}?${query.toString()}`;
}
