import type { AskStage } from '../../../app/contract/engine.js';
import { explorableTurns, type AskTurn } from '../state/ask-slice.js';
import { useAppState } from '../state/store-context.js';
import { ErrorMessage } from './ErrorMessage.js';
import { formatCount } from './format.js';

const stagePhrases: Record<AskStage, string> = {
  queued: 'while waiting for the engine',
  load: 'while loading the model',
  video: 'while decoding frames',
  vision: 'while encoding frames',
  prefill: 'during the pre-fill',
  decode: 'while answering',
};

/** The questions of this analysis with their answers, streamed while they are generated. */
export function Conversation() {
  const conversation = useAppState((s) => s.conversation);
  return (
    <section className="panel" aria-label="Answers">
      <h2>Answers</h2>
      {conversation.turns.length === 0 ? (
        <p className="muted">Questions about the open video and their answers are listed here.</p>
      ) : (
        <ol className="turns">
          {conversation.turns.map((turn, i) => (
            <Turn key={turn.key} turn={turn} index={i} />
          ))}
        </ol>
      )}
    </section>
  );
}

function Turn(props: { turn: AskTurn; index: number }) {
  const { turn } = props;
  const setExplorer = useAppState((s) => s.setExplorer);
  // Only a pre-fill the explorer can show is offered (a question cancelled before it has none).
  const explorable = useAppState((s) => explorableTurns(s).includes(turn));
  const notice = turn.result?.notice ?? turn.started?.model.notice ?? null;
  const streaming = turn.status === 'running' || turn.status === 'cancelling' || turn.status === 'starting';
  return (
    <li className={`turn ${turn.status}`} data-testid={`turn-${props.index}`} data-status={turn.status}>
      <p className="question">
        <span className="who">Q{turn.started && turn.started.turn > 0 ? ' (follow-up)' : ''}</span>{' '}
        {turn.question}
      </p>
      <div className="answer" aria-busy={streaming}>
        <span className="who">A</span>{' '}
        <span className="answer-text" data-testid={`answer-${props.index}`}>
          {turn.answer}
        </span>
        {streaming ? <span className="caret" aria-hidden="true" /> : null}
      </div>
      {notice ? (
        <p className="answer-notice" role="note">
          {notice}
        </p>
      ) : null}
      <TurnStatus turn={turn} />
      {explorable ? (
        <button type="button" className="link" onClick={() => setExplorer({ turnKey: turn.key })}>
          Show this question&apos;s pre-fill
        </button>
      ) : null}
    </li>
  );
}

function TurnStatus(props: { turn: AskTurn }) {
  const { turn } = props;
  if (turn.status === 'failed' && turn.error)
    return <ErrorMessage title="The question failed" error={turn.error} />;
  if (turn.status === 'cancelled') {
    return (
      <p className="muted" role="status" data-testid="turn-cancelled">
        Cancelled{turn.stage ? ` ${stagePhrases[turn.stage]}` : ''}, after {formatCount(turn.tokens)} answer
        token
        {turn.tokens === 1 ? '' : 's'}.
      </p>
    );
  }
  if (turn.status === 'done' && turn.result) {
    const r = turn.result;
    return (
      <p className="muted turn-facts" data-testid="turn-facts">
        {formatCount(r.tokens.length)} tokens (
        {r.stop === 'stop_token' ? 'finished' : 'reached the token limit'}) · pre-filled{' '}
        {formatCount(r.prefilledTokens)} tokens
        {r.cachedTokens > 0 ? `, ${formatCount(r.cachedTokens)} reused from the cache` : ''} ·{' '}
        {formatCount(r.videoTokens)} video tokens · on the {r.device.toUpperCase()}
        {r.patterns ? '' : ' · dense attention'}
      </p>
    );
  }
  if (turn.started) {
    const { plan } = turn.started;
    return (
      <p className="muted">
        {formatCount(plan.times.length)} frames at {plan.width}×{plan.height},{' '}
        {formatCount(plan.visualTokens)} video tokens
      </p>
    );
  }
  return null;
}
