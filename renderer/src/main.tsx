import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { pickBridge } from './bridge/pick-bridge.js';
import { createAppStore } from './state/store.js';
import { StoreProvider } from './state/store-context.js';
import { App } from './views/App.js';
import './styles.css';

const bridge = pickBridge(window);
const store = createAppStore(bridge);
const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <StoreProvider store={store} bridge={bridge}>
      <App />
    </StoreProvider>
  </StrictMode>,
);
