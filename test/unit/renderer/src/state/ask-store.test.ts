import { describe, expect, it } from 'vitest';
import {
  AskResultSchema,
  AskStartedSchema,
  HeadReportSchema,
  HeatmapEventSchema,
  ModelChoiceSchema,
} from '../../../../../app/contract/engine.js';
import { AppError } from '../../../../../app/contract/errors.js';
import { activeTurn, askTarget, shownTurn } from '../../../../../renderer/src/state/ask-slice.js';
import { headKey } from '../../../../../renderer/src/state/captures.js';
import { createAppStore, samplingFrom } from '../../../../../renderer/src/state/store.js';
import { embeddedChoice, headReport, heatmap, result, started } from '../../../../support/engine-samples.js';
import { sampleMeta } from '../../../../support/sample-meta.js';
import { openReady, scriptedBridge } from '../../../../support/scripted-bridge.js';

// Questions as jobs against a scripted bridge: what goes out, how events of every kind land on the right turn,
// once per frame, and how cancelling, failing and follow-ups end.

describe('asking about the open video', () => {
  it('uses samples that pass the contract', () => {
    expect(() => ModelChoiceSchema.parse(embeddedChoice)).not.toThrow();
    expect(() => AskStartedSchema.parse(started('j'))).not.toThrow();
    expect(() => AskResultSchema.parse(result('x', [1]))).not.toThrow();
    expect(() => HeadReportSchema.parse(headReport('j', 0, 0))).not.toThrow();
    expect(() => HeatmapEventSchema.parse(heatmap('j', 0, 0, 4, () => 0.25))).not.toThrow();
  });

  it('sends the question with the sampling, generation and heatmap choices, and streams the answer per frame', async () => {
    const { store, take, emit, paint, jobIdOf } = await openReady();
    store.getState().setSampling({ fps: 0.5 });
    store.getState().setAskOptions({ maxTokens: 8, grid: 32 });
    const asking = store.getState().ask('  What moves?  ');
    const call = take('engine.ask', 'ask-1');
    expect(call.params).toEqual({
      video: sampleMeta.path,
      question: 'What moves?',
      sampling: samplingFrom(store.getState().sampling),
      generation: { maxTokens: 8, temperature: 0 },
      heatmaps: { heads: 'all', grid: 32, samples: 64 },
      jobId: 'ask-1',
    });
    // The job's id is the store's own, sent with engine.ask: the engine's reports before its answer apply at once.
    emit('engine.progress', { jobId: 'ask-1', stage: 'load', done: 1, total: 1 });
    emit('engine.progress', { jobId: 'someone-else', stage: 'load', done: 0, total: 1 });
    call.resolve(started('ask-1'));
    await asking;
    paint();
    expect(activeTurn(store.getState())).toMatchObject({
      status: 'running',
      jobId: jobIdOf('ask-1'),
      stage: 'load',
      stages: { load: { done: 1, total: 1 } },
    });
    // Not a conversation to follow up on until it has an answer.
    expect(store.getState().conversation.id).toBeNull();

    let updates = 0;
    const stop = store.subscribe(() => updates++);
    emit('engine.progress', { jobId: 'ask-1', stage: 'prefill', done: 1, total: 3 });
    emit('engine.progress', { jobId: 'ask-1', stage: 'prefill', done: 2, total: 3 });
    for (const [index, text] of ['A ', 'red ', 'ball'].entries())
      emit('engine.token', { jobId: 'ask-1', index, token: 10 + index, text });
    expect(updates).toBe(0);
    paint();
    expect(updates).toBe(1);
    stop();
    expect(activeTurn(store.getState())).toMatchObject({
      answer: 'A red ball',
      tokens: 3,
      stage: 'prefill',
      stages: { prefill: { done: 2, total: 3 } },
    });

    // A token not painted yet still lands before the outcome; the engine's final text is what stays.
    emit('engine.token', { jobId: 'ask-1', index: 3, token: 13, text: '.' });
    emit('job.done', {
      jobId: 'ask-1',
      result: { kind: 'engine.ask', answer: result('A red ball.', [10, 11, 12, 13]) },
    });
    const [turn] = store.getState().conversation.turns;
    expect(turn).toMatchObject({ status: 'done', answer: 'A red ball.', tokens: 4 });
    expect(turn?.result?.timings.decodeTokensPerSec).toBe(60);
    expect(store.getState().conversation.id).toBe('conv-1');
    expect(activeTurn(store.getState())).toBeUndefined();
    take('engine.status');
  });

  it('asks a follow-up in the same conversation, without sampling, and lists both questions', async () => {
    const { store, take, emit } = await openReady();
    const first = store.getState().ask('First?');
    take('engine.ask').resolve(started('ask-1'));
    await first;
    emit('job.done', { jobId: 'ask-1', result: { kind: 'engine.ask', answer: result('One.', [1]) } });
    const second = store.getState().ask('And then?');
    const call = take('engine.ask');
    expect(call.params).toMatchObject({ conversationId: 'conv-1', question: 'And then?' });
    expect(call.params).not.toHaveProperty('sampling');
    call.resolve(started('ask-2', 1));
    await second;
    expect(store.getState().conversation.turns.map((t) => [t.question, t.status])).toEqual([
      ['First?', 'done'],
      ['And then?', 'running'],
    ]);
    // A second question is refused while one runs.
    await store.getState().ask('Third?');
    expect(store.getState().conversation.turns).toHaveLength(2);
  });

  it('cancels a running question: job.cancel goes out, and CANCELLED keeps the partial answer', async () => {
    const { store, take, emit } = await openReady();
    const asking = store.getState().ask('Long?');
    take('engine.ask').resolve(started('ask-7'));
    await asking;
    emit('engine.token', { jobId: 'ask-7', index: 0, token: 5, text: 'Partial' });
    const cancelling = store.getState().cancelAsk();
    expect(activeTurn(store.getState())?.status).toBe('cancelling');
    const cancel = take('job.cancel');
    expect(cancel.params).toEqual({ jobId: 'ask-7' });
    emit('job.failed', { jobId: 'ask-7', error: { code: 'CANCELLED', message: 'Cancelled' } });
    cancel.resolve({});
    await cancelling;
    expect(store.getState().conversation.turns[0]).toMatchObject({
      status: 'cancelled',
      answer: 'Partial',
      tokens: 1,
    });
    // The engine has no answer to follow up on: the next question starts the conversation afresh.
    void store.getState().ask('Again?');
    const next = take('engine.ask');
    expect(next.params).not.toHaveProperty('conversationId');
    expect(next.params).toHaveProperty('sampling');
  });

  it('asks about the bundled demo video while no video is open and the tiny model answers', async () => {
    const { bridge, take, count, nextFrame } = scriptedBridge();
    const store = createAppStore(bridge, nextFrame);
    await store.getState().ask('Nothing open?');
    expect(count('engine.ask')).toBe(0);
    store.setState({ model: { status: 'ready', choice: embeddedChoice } });
    expect(askTarget(store.getState())).toEqual({ path: '/videos/demo.mp4', demo: true });
    void store.getState().ask('Demo?');
    const call = take('engine.ask');
    expect(call.params).not.toHaveProperty('video');
    expect(store.getState().conversation.video).toBe('/videos/demo.mp4');
    store.setState({
      model: { status: 'ready', choice: { ...embeddedChoice, embedded: false, demoVideo: null } },
    });
    expect(askTarget(store.getState())).toBeNull();
  });

  it('cancels a question whose job id has not come back yet as soon as it does', async () => {
    const { store, take, count } = await openReady();
    const asking = store.getState().ask('Quick?');
    await store.getState().cancelAsk();
    expect(count('job.cancel')).toBe(0);
    expect(activeTurn(store.getState())?.status).toBe('cancelling');
    take('engine.ask').resolve(started('ask-8'));
    await expect.poll(() => count('job.cancel')).toBe(1);
    const cancel = take('job.cancel');
    expect(cancel.params).toEqual({ jobId: 'ask-8' });
    cancel.resolve({});
    await asking;
  });

  it('shows a question the engine refused with its error, and asks the engine how it is', async () => {
    const { store, take } = await openReady();
    const asking = store.getState().ask('Anyone?');
    take('engine.ask').reject(new AppError('ENGINE_UNAVAILABLE', 'No engine in this build'));
    await asking;
    expect(store.getState().conversation.turns[0]).toMatchObject({
      status: 'failed',
      error: { code: 'ENGINE_UNAVAILABLE', message: 'No engine in this build' },
    });
    take('engine.status');
  });

  it('shows a crash as the failure of the running question', async () => {
    const { store, take, emit } = await openReady();
    const asking = store.getState().ask('Crash?');
    take('engine.ask').resolve(started('ask-9'));
    await asking;
    emit('job.failed', {
      jobId: 'ask-9',
      error: { code: 'ENGINE_CRASHED', message: 'The engine process died (SIGSEGV)' },
    });
    expect(store.getState().conversation.turns[0]).toMatchObject({
      status: 'failed',
      error: { code: 'ENGINE_CRASHED' },
    });
    take('engine.status');
  });

  it('starts a new analysis when another video is opened: the running question is cancelled', async () => {
    const { store, take, emit, paint, jobIdOf } = await openReady();
    const asking = store.getState().ask('Here?');
    take('engine.ask').resolve(started('ask-3'));
    await asking;
    emit(
      'engine.heatmap',
      heatmap('ask-3', 0, 0, 4, () => 0.25),
    );
    paint();
    expect(store.getState().captures.get(jobIdOf('ask-3'))?.heatmaps.size).toBe(1);
    // A file that fails to open changes nothing: the question keeps running.
    const failing = store.getState().openVideo('/garbage.mp4');
    take('video.probe').reject(new AppError('NOT_MEDIA', 'Not a media file'));
    await failing;
    expect(store.getState().conversation.turns).toHaveLength(1);
    expect(store.getState().captures.get(jobIdOf('ask-3'))?.heatmaps.size).toBe(1);
    // Once another video has opened, the analysis starts afresh.
    const opening = store.getState().openVideo('/other.mp4');
    take('video.probe').resolve({ ...sampleMeta, path: '/other.mp4' });
    await opening;
    expect(take('job.cancel').params).toEqual({ jobId: 'ask-3' });
    expect(store.getState().conversation).toEqual({ id: null, video: null, turns: [] });
    expect(store.getState().captures.get(jobIdOf('ask-3'))).toBeUndefined();
  });

  it('collects head reports and heatmaps per job, decoded, with one version step per frame', async () => {
    const { store, take, emit, paint, jobIdOf } = await openReady();
    const asking = store.getState().ask('Heads?');
    const call = take('engine.ask', 'ask-4');
    emit('engine.head', headReport('ask-4', 0, 1));
    call.resolve(started('ask-4'));
    await asking;
    const { captures } = store.getState();
    const before = captures.version.getState().version;
    emit(
      'engine.heatmap',
      heatmap('ask-4', 2, 3, 4, (r, c) => (c <= r ? 1 / (r + 1) : 0)),
    );
    emit('engine.head', headReport('ask-4', 2, 3));
    // A map whose grids are not G×G is dropped, not shown wrong.
    emit('engine.heatmap', { ...heatmap('ask-4', 1, 0, 4, () => 0.5), grid: 5, rowSamples: [1, 1, 1, 1, 1] });
    expect(captures.version.getState().version).toBe(before);
    paint();
    expect(captures.version.getState().version).toBe(before + 1);
    const capture = captures.get(jobIdOf('ask-4'));
    expect([...(capture?.heads.keys() ?? [])].sort()).toEqual([headKey(0, 1), headKey(2, 3)]);
    expect([...(capture?.heatmaps.keys() ?? [])]).toEqual([headKey(2, 3)]);
    expect(capture?.lastLayer).toBe(2);
    const mass = capture?.heatmaps.get(headKey(2, 3))?.mass;
    // Row 2 of the lower triangle: 1/3 in columns 0…2, nothing after.
    expect(Array.from(mass?.subarray(8, 12) ?? [])).toEqual([1 / 3, 1 / 3, 1 / 3, 0].map(Math.fround));
    expect(shownTurn(store.getState())?.jobId).toBe(jobIdOf('ask-4'));
  });

  it('asks for the heatmaps of the explorer layer only, or none, when told so', async () => {
    const { store, take } = await openReady();
    store.setState({ model: { status: 'ready', choice: embeddedChoice } });
    store.getState().selectHead(2, 1);
    store.getState().setAskOptions({ heatmaps: 'layer' });
    void store.getState().ask('Layer two?');
    const call = take('engine.ask');
    expect((call.params as { heatmaps: unknown }).heatmaps).toEqual({
      heads: [0, 1, 2, 3].map((head) => ({ layer: 2, head })),
      grid: 64,
      samples: 64,
    });
    call.reject(new AppError('INTERNAL', 'stop here'));
    await Promise.resolve();
    store.getState().setAskOptions({ heatmaps: 'off', dense: true });
    void store.getState().ask('No maps?');
    const second = take('engine.ask');
    expect(second.params).not.toHaveProperty('heatmaps');
    expect(second.params).toMatchObject({ patterns: null });
  });
});
