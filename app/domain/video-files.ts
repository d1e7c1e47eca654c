// File names the app offers to open: containers ffmpeg reads that usually hold video. Probing decides for real;
// this only filters a folder listing.
const videoExtensions = new Set([
  '3gp',
  'avi',
  'flv',
  'm2ts',
  'm4v',
  'mkv',
  'mov',
  'mp4',
  'mpeg',
  'mpg',
  'mts',
  'mxf',
  'ogv',
  'ts',
  'webm',
  'wmv',
]);

export function isVideoFileName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && videoExtensions.has(name.slice(dot + 1).toLowerCase());
}
