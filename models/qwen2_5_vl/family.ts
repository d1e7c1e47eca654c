// Qwen2.5-VL as a model family (models/family.ts): its prompt rules, from prompt.ts and rope-index.ts.
import type { ChatMessage, ModelFamily, PromptRules, PromptVideo } from '../family.js';
import {
  answerText,
  buildPrompt,
  followUpIds,
  loadPromptRules,
  secondPerGrid,
  type QwenPromptRules,
} from './prompt.js';

function rulesOf(rules: QwenPromptRules): PromptRules {
  return {
    family: 'qwen2_5_vl',
    stopIds: rules.stopIds,
    videoQuestion(video: PromptVideo, question: string, history: readonly ChatMessage[] = []) {
      const grid = {
        t: video.t,
        h: video.h,
        w: video.w,
        secondPerGrid: secondPerGrid(rules, video.sampleFps),
      };
      const messages: ChatMessage[] = [
        ...history,
        history.length === 0
          ? { role: 'user', content: [{ type: 'video' }, { type: 'text', text: question }] }
          : { role: 'user', content: question },
      ];
      const prompt = buildPrompt(rules, messages, [grid]);
      return { ids: prompt.ids, positions: prompt.positions.rows };
    },
    followUp: (history, question, answerEnded) => followUpIds(rules, history, question, answerEnded),
    tokenBytes: rules.tokenBytes,
    answerText: (ids) => answerText(rules, ids),
  };
}

export const qwen2_5_vl: ModelFamily = {
  modelType: 'qwen2_5_vl',
  loadRules: async (dir) => rulesOf(await loadPromptRules(dir)),
};
