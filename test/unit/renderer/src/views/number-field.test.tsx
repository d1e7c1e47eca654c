// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';
import { NumberField } from '../../../../../renderer/src/views/NumberField.js';

afterEach(cleanup);

const commits: number[] = [];

function Harness() {
  const [fps, setFps] = useState(2);
  return (
    <NumberField
      id="fps"
      label="Frames per second"
      value={fps}
      min={0.05}
      max={60}
      step={0.05}
      isValid={(n) => n > 0 && n <= 60}
      onCommit={(n) => {
        commits.push(n);
        setFps(n);
      }}
    />
  );
}

describe('NumberField', () => {
  it('keeps partial input as typed, commits only valid numbers, and shows the committed value on blur', () => {
    commits.length = 0;
    render(<Harness />);
    const input = screen.getByLabelText<HTMLInputElement>('Frames per second');
    expect(input.value).toBe('2');

    fireEvent.change(input, { target: { value: '' } });
    expect(input.value).toBe('');
    expect(input.getAttribute('aria-invalid')).toBe('true');

    fireEvent.change(input, { target: { value: '0' } });
    expect(input.value).toBe('0');
    expect(input.getAttribute('aria-invalid')).toBe('true');

    fireEvent.change(input, { target: { value: '0.5' } });
    expect(input.getAttribute('aria-invalid')).toBe('false');

    fireEvent.change(input, { target: { value: '75' } });
    fireEvent.blur(input);
    expect(commits).toEqual([0.5]);
    expect(input.value).toBe('0.5');
    expect(input.getAttribute('aria-invalid')).toBe('false');
  });
});
