import { ComparePanel } from './ComparePanel.js';
import { FilesPanel } from './FilesPanel.js';
import { HeadPanel } from './HeadPanel.js';
import { ResultPanel } from './ResultPanel.js';
import { SearchPanel } from './SearchPanel.js';
import './patterns.css';

/**
 * The researcher's workbench for attention patterns: search a model's per-head patterns on calibration videos,
 * browse a pattern file as a layer×head grid, open a head's heatmaps under the file, compare two files (or one
 * against dense) on a video, and download the figures and numbers.
 */
export function PatternsView() {
  return (
    <main className="layout patterns-view" aria-label="Patterns">
      <div className="column">
        <SearchPanel />
        <FilesPanel />
      </div>
      <div className="column wide">
        <ResultPanel />
        <HeadPanel />
        <ComparePanel />
      </div>
    </main>
  );
}
