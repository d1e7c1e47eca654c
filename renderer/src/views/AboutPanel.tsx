import { useEffect } from 'react';
import type { ToolStatus } from '../../../app/contract/diagnostics.js';
import { useAppState, useBridge } from '../state/store-context.js';
import { ErrorMessage } from './ErrorMessage.js';

/** Diagnostics: which ffmpeg/ffprobe the services resolved (and from where), hardware decoders, the engine. */
export function AboutPanel(props: { onClose: () => void }) {
  const bridge = useBridge();
  const diagnostics = useAppState((s) => s.diagnostics);
  const loadDiagnostics = useAppState((s) => s.loadDiagnostics);

  useEffect(() => {
    void loadDiagnostics();
  }, [loadDiagnostics]);

  return (
    <section className="panel about" role="dialog" aria-label="About and diagnostics">
      <div className="row">
        <h2>About and diagnostics</h2>
        <span className="spacer" />
        <button type="button" className="secondary" onClick={props.onClose}>
          Close
        </button>
      </div>
      {diagnostics.status === 'loading' || diagnostics.status === 'idle' ? (
        <p role="status">Checking…</p>
      ) : null}
      {diagnostics.status === 'failed' ? <ErrorMessage error={diagnostics.error} /> : null}
      {diagnostics.status === 'ready' ? (
        <dl className="facts">
          <dt>App</dt>
          <dd>MMI Studio {diagnostics.diagnostics.appVersion}</dd>
          <dt>Host</dt>
          <dd>{bridge.host === 'electron' ? 'Desktop (Electron)' : 'Web host (mmi serve)'}</dd>
          <dt>Node</dt>
          <dd>{diagnostics.diagnostics.node}</dd>
          <dt>Platform</dt>
          <dd>{diagnostics.diagnostics.platform}</dd>
          <Tool name="ffmpeg" status={diagnostics.diagnostics.ffmpeg} />
          <Tool name="ffprobe" status={diagnostics.diagnostics.ffprobe} />
          <dt>Hardware decoders</dt>
          <dd>
            {diagnostics.diagnostics.hwaccels.length > 0
              ? diagnostics.diagnostics.hwaccels.join(', ')
              : 'none'}
          </dd>
          <dt>Engine</dt>
          <dd>
            {diagnostics.diagnostics.engine.available ? 'available' : 'not available'}:{' '}
            {diagnostics.diagnostics.engine.message}
          </dd>
        </dl>
      ) : null}
    </section>
  );
}

function Tool(props: { name: string; status: ToolStatus }) {
  const { status } = props;
  return (
    <>
      <dt>{props.name}</dt>
      <dd data-testid={`diagnostics-${props.name}`} title={status.found ? status.path : status.reason}>
        {status.found
          ? `${status.path} (from ${status.source}) — ${status.version}`
          : `not found: ${status.reason}`}
      </dd>
    </>
  );
}
