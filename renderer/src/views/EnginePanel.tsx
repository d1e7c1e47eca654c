import { useEffect } from 'react';
import type { EngineHostStatus } from '../../../app/contract/engine.js';
import { useAppState } from '../state/store-context.js';
import { ErrorMessage } from './ErrorMessage.js';

/** How often the engine's state is asked for (it has no event of its own; a crash between questions shows here). */
const pollMs = 5000;

const stateLabels: Record<EngineHostStatus['state'], string> = {
  stopped: 'stopped',
  starting: 'starting',
  ready: 'ready',
  busy: 'working',
  crashed: 'crashed',
};

/** The engine process: where it computes (CPU or GPU), whether it runs, and a restart after a crash. */
export function EnginePanel() {
  const engine = useAppState((s) => s.engine);
  const restarting = useAppState((s) => s.engineRestarting);
  const refreshEngine = useAppState((s) => s.refreshEngine);
  const restartEngine = useAppState((s) => s.restartEngine);

  useEffect(() => {
    void refreshEngine();
    const timer = setInterval(() => void refreshEngine(), pollMs);
    return () => clearInterval(timer);
  }, [refreshEngine]);

  const host = engine.status === 'ready' ? engine.host : null;
  const canRestart = host !== null && (host.state === 'crashed' || host.state === 'stopped');
  return (
    <section className="panel" aria-label="Engine">
      <h2>
        Engine{' '}
        {host ? (
          <span className={`badge engine-${host.state}`} data-testid="engine-state">
            {stateLabels[host.state]}
          </span>
        ) : null}
      </h2>
      {engine.status === 'unknown' ? <p role="status">Asking the engine…</p> : null}
      {engine.status === 'failed' ? <ErrorMessage title="No engine" error={engine.error} /> : null}
      {host ? (
        <dl className="facts">
          <dt>Computes on</dt>
          <dd data-testid="engine-device">
            {host.backend ? (host.backend.device === 'gpu' ? 'GPU' : 'CPU') : 'not known yet'}
          </dd>
          {host.backend ? (
            <>
              <dt>Backend</dt>
              <dd className="wrap" data-testid="engine-backend">
                {host.backend.detail}
              </dd>
              <dt>CPU threads</dt>
              <dd>{host.backend.cpuThreads}</dd>
              <dt>CUDA</dt>
              <dd>
                {host.backend.cudaBuilt
                  ? `built; ${host.backend.gpus} GPU${host.backend.gpus === 1 ? '' : 's'} found`
                  : 'not in this build'}
              </dd>
            </>
          ) : null}
          <dt>Process</dt>
          <dd data-testid="engine-process">{host.pid !== null ? `pid ${host.pid}` : 'not running'}</dd>
          <dt>Restarts</dt>
          <dd>{host.restarts}</dd>
          {host.lastCrash ? (
            <>
              <dt>Last crash</dt>
              <dd title={host.lastCrash.message}>
                {new Date(host.lastCrash.at).toLocaleString()}:{' '}
                {host.lastCrash.signal ?? `exit code ${host.lastCrash.exitCode ?? '?'}`} —{' '}
                {host.lastCrash.message}
              </dd>
            </>
          ) : null}
        </dl>
      ) : null}
      {host?.state === 'crashed' ? (
        <p className="error" role="alert">
          The engine process stopped unexpectedly. Questions that were running failed; restart it to go on.
        </p>
      ) : null}
      {canRestart ? (
        <button type="button" disabled={restarting} onClick={() => void restartEngine()}>
          {restarting ? 'Starting…' : host.state === 'crashed' ? 'Restart the engine' : 'Start the engine'}
        </button>
      ) : null}
    </section>
  );
}
