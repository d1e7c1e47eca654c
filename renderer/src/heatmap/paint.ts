// Heatmap painting lives in app/domain (the CLI's figure export paints with it too).
export * from '../../../app/domain/heatmap-paint.js';
