// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppError } from '../../../../../app/contract/errors.js';
import { StoreProvider } from '../../../../../renderer/src/state/store-context.js';
import { App } from '../../../../../renderer/src/views/App.js';
import { Conversation } from '../../../../../renderer/src/views/Conversation.js';
import { HeatmapExplorer } from '../../../../../renderer/src/views/HeatmapExplorer.js';
import { ModelPanel } from '../../../../../renderer/src/views/ModelPanel.js';
import { embeddedChoice, headReport, heatmap, started } from '../../../../support/engine-samples.js';
import { openReady, scriptedBridge } from '../../../../support/scripted-bridge.js';
import { createAppStore } from '../../../../../renderer/src/state/store.js';

// The views against a store on a scripted bridge, in jsdom (no canvas there: drawing is skipped, what is shown
// around it is not).

beforeEach(() => {
  vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null);
});
afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

async function running() {
  const script = await openReady();
  const { store, take } = script;
  store.setState({ model: { status: 'ready', choice: embeddedChoice } });
  const asking = store.getState().ask('What is red?');
  take('engine.ask').resolve(started('ask-1'));
  await asking;
  return script;
}

describe('heatmap explorer', () => {
  it('follows the pre-fill, then moves between heads with the arrow keys', async () => {
    const { store, bridge, emit, paint } = await running();
    render(
      <StoreProvider store={store} bridge={bridge}>
        <HeatmapExplorer />
      </StoreProvider>,
    );
    const grid = screen.getByRole('grid', { name: 'Layers and heads' });
    expect(within(grid).getAllByRole('gridcell')).toHaveLength(3 * 4);
    expect(screen.getByTestId('heatmap-missing').textContent).toContain('waiting for the pre-fill');

    act(() => {
      for (let head = 0; head < 4; head++) {
        emit('engine.head', headReport('ask-1', 1, head));
        emit(
          'engine.heatmap',
          heatmap('ask-1', 1, head, 8, (r, c) => (c <= r ? 1 / (r + 1) : 0)),
        );
      }
      emit('engine.progress', { jobId: 'ask-1', stage: 'prefill', done: 2, total: 3 });
      paint();
    });
    // Following: layer 1 (the newest), head 0.
    expect(screen.getByRole<HTMLSelectElement>('combobox', { name: 'Layer' }).value).toBe('1');
    expect(screen.getByTestId('heatmap-original').getAttribute('aria-label')).toBe(
      'Layer 1 head 0, original token order',
    );
    expect(screen.getByTestId('head-pattern').textContent).toBe('grid');
    expect(screen.getByTestId('explorer-status').textContent).toBe('Pre-fill at layer 2 of 3');
    // One recall on this prompt (the report's) beside the file's at calibration, each with its definition.
    const recall = screen.getByTestId('head-recall');
    expect(recall.textContent).toBe('0.970');
    expect(recall.getAttribute('title')).toMatch(/^Recall on this prompt: the share of the head's exact/);
    expect(screen.getByTestId('head-calibration-recall').textContent).toBe('0.950');
    expect(screen.getAllByText(/^Recall/).map((el) => el.textContent)).toEqual([
      'Recall on this prompt',
      'Recall at calibration',
    ]);

    const selected = within(grid).getByRole('gridcell', { selected: true });
    expect(selected.getAttribute('aria-label')).toBe(
      'Layer 1, head 0: grid, density 25.0%, recall on this prompt 0.970, heatmap',
    );
    fireEvent.keyDown(selected, { key: 'ArrowRight' });
    expect(screen.getByTestId('heatmap-original').getAttribute('aria-label')).toBe(
      'Layer 1 head 1, original token order',
    );
    expect(document.activeElement?.getAttribute('data-cell')).toBe('1:1');
    fireEvent.keyDown(document.activeElement as Element, { key: 'ArrowDown' });
    expect(screen.getByTestId('heatmap-missing').textContent).toBe(
      'Layer 2, head 1: waiting for the pre-fill to reach it.',
    );
    // Picked by hand: a newer layer no longer moves the view.
    act(() => {
      emit(
        'engine.heatmap',
        heatmap('ask-1', 0, 1, 8, () => 0.125),
      );
      paint();
    });
    expect(screen.getByRole<HTMLSelectElement>('combobox', { name: 'Layer' }).value).toBe('2');
    fireEvent.keyDown(document.activeElement as Element, { key: 'PageUp' });
    expect(screen.getByTestId('heatmap-permuted').getAttribute('aria-label')).toBe(
      'Layer 0 head 1, grid permuted order',
    );
    // At the edge the keys stop.
    fireEvent.keyDown(document.activeElement as Element, { key: 'ArrowUp' });
    expect(document.activeElement?.getAttribute('data-cell')).toBe('0:1');
    expect(screen.getByTestId('legend-ticks').textContent).toContain('0.13');
  });

  it('streams the answer into the list of questions, with the tiny model notice beside it', async () => {
    const { store, bridge, emit, paint } = await running();
    render(
      <StoreProvider store={store} bridge={bridge}>
        <Conversation />
      </StoreProvider>,
    );
    act(() => {
      emit('engine.token', { jobId: 'ask-1', index: 0, token: 1, text: 'Red ' });
      emit('engine.token', { jobId: 'ask-1', index: 1, token: 2, text: 'ball' });
    });
    expect(screen.getByTestId('answer-0').textContent).toBe('');
    act(() => paint());
    expect(screen.getByTestId('answer-0').textContent).toBe('Red ball');
    expect(screen.getByRole('note').textContent).toBe(embeddedChoice.notice);
  });
});

describe('model panel', () => {
  it('says plainly what the bundled model is, and shows why a folder cannot be used', async () => {
    const { store, bridge, take } = await openReady();
    render(
      <StoreProvider store={store} bridge={bridge}>
        <ModelPanel />
      </StoreProvider>,
    );
    await act(async () => take('model.current').resolve(embeddedChoice));
    expect(screen.getByTestId('embedded-model-notice').textContent).toContain(
      'Bundled demo model: trained only on synthetic videos.',
    );
    fireEvent.change(screen.getByLabelText('Model folder on the server'), {
      target: { value: '/models/broken' },
    });
    fireEvent.click(screen.getByRole('button', { name: 'Inspect' }));
    const inspect = take('model.inspect');
    expect(inspect.params).toEqual({ dir: '/models/broken' });
    expect(screen.getByRole('status').textContent).toBe('Reading /models/broken…');
    await act(async () =>
      inspect.reject(
        new AppError('MODEL_INVALID', 'A tensor is missing', 'model.safetensors: model.norm.weight'),
      ),
    );
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('MODEL_INVALID');
    expect(alert.textContent).toContain('model.safetensors: model.norm.weight');
  });
});

describe('model panel in the desktop app', () => {
  it('chooses a model folder with the native dialog, then inspects it; no typed paths', async () => {
    const script = scriptedBridge();
    const bridge = {
      ...script.bridge,
      host: 'electron' as const,
      chooseModelFolder: async () => '/models/qwen',
    };
    const store = createAppStore(bridge, script.nextFrame);
    render(
      <StoreProvider store={store} bridge={bridge}>
        <ModelPanel />
      </StoreProvider>,
    );
    expect(screen.queryByLabelText('Model folder on the server')).toBeNull();
    await act(async () => fireEvent.click(screen.getByRole('button', { name: 'Choose model folder…' })));
    expect(script.take('model.inspect').params).toEqual({ dir: '/models/qwen' });
  });
});

describe('the whole app', () => {
  it('renders with no video open and the demo model answering: questions would go to the demo video', async () => {
    const { bridge, take, nextFrame } = scriptedBridge();
    const store = createAppStore(bridge, nextFrame);
    render(
      <StoreProvider store={store} bridge={bridge}>
        <App />
      </StoreProvider>,
    );
    await act(async () => take('model.current').resolve(embeddedChoice));
    expect(screen.getByText('Bundled demo model — synthetic videos only')).toBeTruthy();
    expect(screen.getByTestId('demo-video-note')).toBeTruthy();
    fireEvent.change(screen.getByRole('textbox', { name: 'Question' }), { target: { value: 'What is it?' } });
    fireEvent.click(screen.getByRole('button', { name: 'Ask' }));
    const ask = take('engine.ask');
    expect(ask.params).toMatchObject({ question: 'What is it?' });
    expect(ask.params).not.toHaveProperty('video');
  });
});
