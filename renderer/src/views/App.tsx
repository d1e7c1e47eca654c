import { useState } from 'react';
import { useAppState, useBridge } from '../state/store-context.js';
import { AboutPanel } from './AboutPanel.js';
import { Answers, HeatmapExplorer, QuestionBox } from './ComingPanels.js';
import { DecodePanel } from './DecodePanel.js';
import { DropTarget } from './DropTarget.js';
import { MetadataPanel } from './MetadataPanel.js';
import { OpenVideo } from './OpenVideo.js';
import { SamplingPanel } from './SamplingPanel.js';
import { ThumbnailTimeline } from './ThumbnailTimeline.js';

export function App() {
  const bridge = useBridge();
  const [about, setAbout] = useState(false);
  return (
    <DropTarget>
      <header className="app-header">
        <h1>MMI Studio</h1>
        <span className="host">{bridge.host === 'electron' ? 'desktop' : 'web host'}</span>
        <ConnectionStatus />
        <span className="spacer" />
        <button type="button" className="secondary" onClick={() => setAbout(!about)} aria-pressed={about}>
          About
        </button>
      </header>
      {about ? <AboutPanel onClose={() => setAbout(false)} /> : null}
      <main className="layout">
        <div className="column">
          <OpenVideo />
          <MetadataPanel />
          <SamplingPanel />
          <DecodePanel />
        </div>
        <div className="column wide">
          <ThumbnailTimeline />
          <QuestionBox />
          <Answers />
          <HeatmapExplorer />
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
