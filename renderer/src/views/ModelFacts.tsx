import type { ModelInfo } from '../../../app/contract/engine.js';
import { formatBytes, formatCount } from './format.js';

/** What a model folder holds, as the engine read it. */
export function ModelFacts(props: { info: ModelInfo; testId?: string }) {
  const { info } = props;
  return (
    <dl className="facts" data-testid={props.testId}>
      <dt>Family</dt>
      <dd>{info.family}</dd>
      <dt>Folder</dt>
      <dd title={info.dir}>{info.dir}</dd>
      <dt>Language model</dt>
      <dd>
        {info.textLayers} layers, hidden {formatCount(info.hidden)}, {info.heads} heads ({info.kvHeads}{' '}
        key/value), head dim {info.headDim}
      </dd>
      <dt>Vision tower</dt>
      <dd>{info.visionLayers} layers</dd>
      <dt>Vocabulary</dt>
      <dd>{formatCount(info.vocab)} tokens</dd>
      <dt>Weights</dt>
      <dd>
        {formatBytes(info.weightBytes)} in {formatCount(info.tensors)} tensors,{' '}
        {info.dtypes.join(', ') || 'no dtype'}
      </dd>
      <dt>Files</dt>
      <dd title={info.files.join('\n')}>{info.files.join(', ')}</dd>
    </dl>
  );
}
