// The colour scale lives in app/domain (the CLI's figure export paints with it too).
export * from '../../../app/domain/heatmap-colour-scale.js';
