import { useState } from 'react';

/**
 * A number input bound to a stored value: what the user types is kept as typed (so "0." or an emptied field can be
 * edited on), the value is committed whenever the text is a valid number, and leaving the field shows the
 * committed value again.
 */
export function NumberField(props: {
  id: string;
  label: string;
  value: number;
  min: number;
  max: number;
  step: number;
  isValid: (n: number) => boolean;
  onCommit: (n: number) => void;
}) {
  const [draft, setDraft] = useState<string | null>(null);
  const text = draft ?? String(props.value);
  const parsed = text.trim() === '' ? Number.NaN : Number(text);
  const valid = Number.isFinite(parsed) && props.isValid(parsed);
  return (
    <>
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="number"
        min={props.min}
        max={props.max}
        step={props.step}
        value={text}
        aria-invalid={!valid}
        onChange={(e) => {
          setDraft(e.target.value);
          const n = e.target.value.trim() === '' ? Number.NaN : Number(e.target.value);
          if (Number.isFinite(n) && props.isValid(n)) props.onCommit(n);
        }}
        onBlur={() => setDraft(null)}
      />
    </>
  );
}
