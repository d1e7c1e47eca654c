import { useAppState, useBridge } from '../state/store-context.js';
import { Answers, HeatmapExplorer, QuestionBox } from './ComingPanels.js';
import { DropTarget } from './DropTarget.js';
import { MetadataPanel } from './MetadataPanel.js';
import { OpenVideo } from './OpenVideo.js';

export function App() {
  const bridge = useBridge();
  return (
    <DropTarget>
      <header className="app-header">
        <h1>MMI Studio</h1>
        <span className="host">{bridge.host === 'electron' ? 'desktop' : 'web host'}</span>
        <ConnectionStatus />
      </header>
      <main className="layout">
        <div className="column">
          <OpenVideo />
          <MetadataPanel />
        </div>
        <div className="column wide">
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
