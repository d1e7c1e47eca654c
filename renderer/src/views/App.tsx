import { useState } from 'react';
import { PatternsView } from '../patterns/PatternsView.js';
import { useAppState, useBridge } from '../state/store-context.js';
import { AboutPanel } from './AboutPanel.js';
import { Conversation } from './Conversation.js';
import { DecodePanel } from './DecodePanel.js';
import { DropTarget } from './DropTarget.js';
import { EnginePanel } from './EnginePanel.js';
import { HeatmapExplorer } from './HeatmapExplorer.js';
import { MetadataPanel } from './MetadataPanel.js';
import { ModelPanel } from './ModelPanel.js';
import { OpenVideo } from './OpenVideo.js';
import { QuestionBox } from './QuestionBox.js';
import { SamplingPanel } from './SamplingPanel.js';
import { ThumbnailTimeline } from './ThumbnailTimeline.js';
import { TimingsPanel } from './TimingsPanel.js';

export function App() {
  const bridge = useBridge();
  const [about, setAbout] = useState(false);
  const [view, setView] = useState<'analyse' | 'patterns'>('analyse');
  return (
    <DropTarget>
      <header className="app-header">
        <h1>MMI Studio</h1>
        <span className="host">{bridge.host === 'electron' ? 'desktop' : 'web host'}</span>
        <ConnectionStatus />
        <ModelBadge />
        <span className="spacer" />
        <nav className="row" aria-label="Views">
          {(['analyse', 'patterns'] as const).map((v) => (
            <button
              key={v}
              type="button"
              className="secondary"
              aria-pressed={view === v}
              onClick={() => setView(v)}
            >
              {v === 'analyse' ? 'Analyse' : 'Patterns'}
            </button>
          ))}
        </nav>
        <button type="button" className="secondary" onClick={() => setAbout(!about)} aria-pressed={about}>
          About
        </button>
      </header>
      {about ? <AboutPanel onClose={() => setAbout(false)} /> : null}
      {view === 'patterns' ? <PatternsView /> : null}
      <main className="layout" hidden={view !== 'analyse'}>
        <div className="column">
          <OpenVideo />
          <MetadataPanel />
          <ModelPanel />
          <SamplingPanel />
          <DecodePanel />
          <EnginePanel />
        </div>
        <div className="column wide">
          <ThumbnailTimeline />
          <QuestionBox />
          <Conversation />
          <HeatmapExplorer />
          <TimingsPanel />
        </div>
      </main>
    </DropTarget>
  );
}

function ConnectionStatus() {
  const connection = useAppState((s) => s.connection);
  if (connection === 'open') return null;
  return (
    <span className={`connection ${connection}`} role="status">
      {connection === 'connecting'
        ? 'Connecting…'
        : 'Connection to the web host lost: restart `mmi serve` and open the URL it prints.'}
    </span>
  );
}

/** The model answering, always in sight; the bundled demo model is flagged as knowing only synthetic videos. */
function ModelBadge() {
  const model = useAppState((s) => s.model);
  if (model.status !== 'ready') return null;
  const { choice } = model;
  return choice.embedded ? (
    <span className="model-badge embedded" title={choice.notice ?? undefined}>
      Bundled demo model — synthetic videos only
    </span>
  ) : (
    <span className="model-badge" title={choice.dir}>
      {choice.info.family}: {choice.dir.split(/[\\/]/).filter(Boolean).pop() ?? choice.dir}
    </span>
  );
}
