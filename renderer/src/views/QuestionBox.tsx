import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { activeTurn, askTarget, type HeatmapCapture } from '../state/ask-slice.js';
import { useAppState } from '../state/store-context.js';
import { AskProgress } from './AskProgress.js';
import { NumberField } from './NumberField.js';

const heatmapChoices: { value: HeatmapCapture; label: string }[] = [
  { value: 'all', label: 'every head of every layer' },
  { value: 'layer', label: "the heads of the explorer's layer" },
  { value: 'off', label: 'none' },
];
const gridSizes = [32, 64, 128, 256];

/** A question about the open video, asked as a job: progress by stage, cancel, and the options it runs with. */
export function QuestionBox() {
  // askTarget builds a new object each call: compared by its fields, or every render would ask for another.
  const target = useAppState(useShallow(askTarget));
  const conversation = useAppState((s) => s.conversation);
  const running = useAppState(activeTurn);
  const ask = useAppState((s) => s.ask);
  const cancelAsk = useAppState((s) => s.cancelAsk);
  const resetConversation = useAppState((s) => s.resetConversation);
  const [question, setQuestion] = useState('');

  const ready = target !== null;
  const demo = target?.demo ?? false;
  const followUp = conversation.id !== null;
  const canAsk = ready && running === undefined && question.trim() !== '';

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    if (!canAsk) return;
    void ask(question);
    setQuestion('');
  };
  // Enter asks, Shift+Enter starts a new line.
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  };

  return (
    <section className="panel" aria-label="Question">
      <h2>Ask about the video</h2>
      {!ready ? <p className="muted">Open a video to ask about it.</p> : null}
      {demo ? (
        <p className="muted" data-testid="demo-video-note">
          No video is open: questions go to the bundled demo video (a short synthetic clip) until you open
          one.
        </p>
      ) : null}
      <form className="question-form" onSubmit={submit}>
        <label htmlFor="question">{followUp ? 'Follow-up question' : 'Question'}</label>
        <textarea
          id="question"
          rows={2}
          value={question}
          disabled={!ready}
          placeholder={ready ? 'What happens in this video?' : ''}
          onChange={(e) => setQuestion(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <div className="row">
          <button type="submit" disabled={!canAsk}>
            {followUp ? 'Ask a follow-up' : 'Ask'}
          </button>
          <button
            type="button"
            className="secondary"
            disabled={running === undefined || running.status === 'cancelling'}
            onClick={() => void cancelAsk()}
          >
            Cancel
          </button>
          <span className="spacer" />
          {conversation.turns.length > 0 ? (
            <button
              type="button"
              className="secondary"
              disabled={running !== undefined}
              onClick={resetConversation}
            >
              New conversation
            </button>
          ) : null}
        </div>
      </form>
      {followUp ? (
        <p className="muted">
          Follow-ups reuse the video&apos;s cache in the engine: only the new question is pre-filled. Sampling
          changes apply to a new conversation.
        </p>
      ) : null}
      {running ? <AskProgress turn={running} /> : null}
      <AskOptionsForm />
    </section>
  );
}

function AskOptionsForm() {
  const options = useAppState((s) => s.askOptions);
  const setAskOptions = useAppState((s) => s.setAskOptions);
  const layer = useAppState((s) => s.explorer.layer);
  const selectHead = useAppState((s) => s.selectHead);
  const head = useAppState((s) => s.explorer.head);
  const model = useAppState((s) => s.model);
  const layers = model.status === 'ready' ? model.choice.info.textLayers : 1;
  return (
    <details className="ask-options">
      <summary>Answer and capture options</summary>
      <div className="form-grid">
        <NumberField
          id="ask-max-tokens"
          label="Max answer tokens"
          value={options.maxTokens}
          min={1}
          max={32768}
          step={1}
          isValid={(n) => Number.isInteger(n) && n >= 1 && n <= 32768}
          onCommit={(maxTokens) => setAskOptions({ maxTokens })}
        />
        <NumberField
          id="ask-temperature"
          label="Temperature (0: greedy)"
          value={options.temperature}
          min={0}
          max={5}
          step={0.1}
          isValid={(n) => n >= 0 && n <= 5}
          onCommit={(temperature) => setAskOptions({ temperature })}
        />
        <label htmlFor="ask-heatmaps">Heatmaps for</label>
        <select
          id="ask-heatmaps"
          value={options.heatmaps}
          onChange={(e) => setAskOptions({ heatmaps: e.target.value as HeatmapCapture })}
        >
          {heatmapChoices.map((choice) => (
            <option key={choice.value} value={choice.value}>
              {choice.label}
            </option>
          ))}
        </select>
        {options.heatmaps === 'layer' ? (
          <NumberField
            id="ask-heatmap-layer"
            label="Layer to capture"
            value={layer}
            min={0}
            max={layers - 1}
            step={1}
            isValid={(n) => Number.isInteger(n) && n >= 0 && n < layers}
            onCommit={(l) => selectHead(l, head)}
          />
        ) : null}
        <label htmlFor="ask-grid">Heatmap size</label>
        <select
          id="ask-grid"
          value={options.grid}
          onChange={(e) => setAskOptions({ grid: Number(e.target.value) })}
        >
          {gridSizes.map((g) => (
            <option key={g} value={g}>
              {g}×{g}
            </option>
          ))}
        </select>
        <label htmlFor="ask-dense">Dense attention</label>
        <span>
          <input
            id="ask-dense"
            type="checkbox"
            checked={options.dense}
            onChange={(e) => setAskOptions({ dense: e.target.checked })}
          />{' '}
          <span className="muted">ignore the pattern file (the reference to compare with)</span>
        </span>
      </div>
    </details>
  );
}
