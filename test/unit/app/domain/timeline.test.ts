import { describe, expect, it } from 'vitest';
import { thumbnailTimes } from '../../../../app/domain/timeline.js';
import { isVideoFileName } from '../../../../app/domain/video-files.js';

describe('thumbnailTimes', () => {
  it('puts each thumbnail in the middle of its slice', () => {
    expect(thumbnailTimes(10, 5)).toEqual([1, 3, 5, 7, 9]);
  });
  it('gives nothing for no duration or no count', () => {
    expect(thumbnailTimes(0, 5)).toEqual([]);
    expect(thumbnailTimes(10, 0)).toEqual([]);
    expect(thumbnailTimes(Number.NaN, 3)).toEqual([]);
  });
});

describe('isVideoFileName', () => {
  it.each([
    ['a.mp4', true],
    ['A.MKV', true],
    ['x.tar.webm', true],
    ['.mp4', false],
    ['notes.txt', false],
    ['mp4', false],
  ])('%s → %s', (name, expected) => {
    expect(isVideoFileName(name)).toBe(expected);
  });
});
