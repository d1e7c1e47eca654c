import { useEffect, useState, type FormEvent } from 'react';
import type { ModelChoice } from '../../../app/contract/engine.js';
import { toErrorData, type AppErrorData } from '../../../app/contract/errors.js';
import { useAppState, useBridge } from '../state/store-context.js';
import { ErrorMessage } from './ErrorMessage.js';
import { FolderBrowser } from './FileBrowser.js';
import { ModelFacts } from './ModelFacts.js';

/**
 * The model questions go to. A folder is inspected first (the engine reads its config, weight headers and
 * tokenizer and says what it found or what is wrong), then chosen. With none chosen the bundled demo model
 * answers, and this panel says plainly that its answers mean nothing.
 */
export function ModelPanel() {
  const model = useAppState((s) => s.model);
  const loadModel = useAppState((s) => s.loadModel);

  useEffect(() => {
    void loadModel();
  }, [loadModel]);

  return (
    <section className="panel" aria-label="Model">
      <h2>Model</h2>
      {model.status === 'loading' ? <p role="status">Asking the engine…</p> : null}
      {model.status === 'failed' ? (
        <>
          <ErrorMessage title="The engine did not say which model it uses" error={model.error} />
          <button type="button" className="secondary" onClick={() => void loadModel()}>
            Ask again
          </button>
        </>
      ) : null}
      {model.status === 'ready' ? <CurrentModel choice={model.choice} /> : null}
      <ChangeModel />
    </section>
  );
}

function CurrentModel(props: { choice: ModelChoice }) {
  const { choice } = props;
  return (
    <>
      {choice.embedded ? (
        <div className="warning" role="note" data-testid="embedded-model-notice">
          <strong>Bundled demo model: trained only on synthetic videos.</strong>
          {choice.notice ? <p>{choice.notice}</p> : null}
        </div>
      ) : choice.notice ? (
        <p className="notice-inline">{choice.notice}</p>
      ) : null}
      <details open={!choice.embedded}>
        <summary>
          {choice.embedded ? 'Bundled demo model' : choice.info.family} — {choice.info.textLayers} layers ×{' '}
          {choice.info.heads} heads
        </summary>
        <ModelFacts info={choice.info} testId="current-model" />
      </details>
      <p className="muted">Pattern file: {choice.patterns ?? 'none (dense attention in every head)'}</p>
    </>
  );
}

function ChangeModel() {
  const bridge = useBridge();
  const model = useAppState((s) => s.model);
  const inspection = useAppState((s) => s.inspection);
  const choosing = useAppState((s) => s.choosing);
  const inspectModel = useAppState((s) => s.inspectModel);
  const chooseModel = useAppState((s) => s.chooseModel);
  const modelBrowser = useAppState((s) => s.modelBrowser);
  const browseModels = useAppState((s) => s.browseModels);
  const [dir, setDir] = useState('');
  const [patterns, setPatterns] = useState('');
  const [browsing, setBrowsing] = useState(false);
  const [dialogError, setDialogError] = useState<AppErrorData | null>(null);
  const embedded = model.status === 'ready' && model.choice.embedded;

  const inspect = (path: string) => {
    setDir(path);
    setBrowsing(false);
    void inspectModel(path);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (dir.trim()) inspect(dir.trim());
  };
  const chooseWithDialog = async () => {
    setDialogError(null);
    try {
      const path = await bridge.chooseModelFolder?.();
      if (path) inspect(path);
    } catch (err) {
      setDialogError(toErrorData(err));
    }
  };

  return (
    <div className="change-model">
      <h3>Choose a model folder</h3>
      <p className="muted">
        A Hugging Face folder: config.json, *.safetensors, tokenizer.json, tokenizer_config.json,
        preprocessor_config.json.
      </p>
      {bridge.chooseModelFolder ? (
        <button type="button" onClick={() => void chooseWithDialog()}>
          Choose model folder…
        </button>
      ) : null}
      {/* The desktop app reads only what was chosen in a dialog: a typed path would be refused. */}
      {bridge.host === 'web' ? (
        <form className="path-open" onSubmit={submit}>
          <label htmlFor="model-dir">Model folder on the server</label>
          <input
            id="model-dir"
            type="text"
            value={dir}
            placeholder="/path/to/Qwen2.5-VL-7B-Instruct"
            spellCheck={false}
            onChange={(e) => setDir(e.target.value)}
          />
          <button type="submit" disabled={!dir.trim() || inspection.status === 'inspecting'}>
            Inspect
          </button>
        </form>
      ) : null}
      {bridge.host === 'web' ? (
        <button
          type="button"
          className="link"
          aria-expanded={browsing}
          onClick={() => setBrowsing(!browsing)}
        >
          {browsing ? 'Hide the folder list' : 'Browse the allowed folders…'}
        </button>
      ) : null}
      {browsing ? (
        <FolderBrowser
          label="Model folder browser"
          state={modelBrowser}
          browse={browseModels}
          onChooseFolder={inspect}
        />
      ) : null}
      {dialogError ? <ErrorMessage title="The folder dialog failed" error={dialogError} /> : null}
      {inspection.status === 'inspecting' ? <p role="status">Reading {inspection.dir}…</p> : null}
      {inspection.status === 'failed' ? (
        <ErrorMessage title={`${inspection.dir} cannot be used`} error={inspection.error} />
      ) : null}
      {inspection.status === 'ready' ? (
        <div className="inspection" role="region" aria-label="Model found">
          <p>Found:</p>
          <ModelFacts info={inspection.info} testId="inspected-model" />
          {bridge.host === 'web' ? (
            <>
              <label htmlFor="model-patterns">
                Pattern file (optional: the engine's default for the model otherwise)
              </label>
              <input
                id="model-patterns"
                type="text"
                value={patterns}
                placeholder="/path/to/patterns.json"
                spellCheck={false}
                onChange={(e) => setPatterns(e.target.value)}
              />
            </>
          ) : null}
          <button
            type="button"
            disabled={choosing.status === 'choosing'}
            onClick={() => void chooseModel(inspection.dir, patterns.trim() || undefined)}
          >
            Use this model
          </button>
        </div>
      ) : null}
      {!embedded && model.status === 'ready' ? (
        <button
          type="button"
          className="secondary"
          disabled={choosing.status === 'choosing'}
          onClick={() => void chooseModel(null)}
        >
          Back to the bundled demo model
        </button>
      ) : null}
      {choosing.status === 'choosing' ? <p role="status">Loading the model…</p> : null}
      {choosing.status === 'failed' ? (
        <ErrorMessage
          title={choosing.dir ? `Could not switch to ${choosing.dir}` : 'Could not switch back'}
          error={choosing.error}
        />
      ) : null}
    </div>
  );
}
