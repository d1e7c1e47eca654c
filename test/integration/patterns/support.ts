// The app's API with real pattern workers behind it: services whose pattern folder is a scratch folder, a context
// whose events are recorded, and a job's outcome as its result or its error.
import { patternWorkerEntry } from '../../../main/services/patterns/worker-client.js';
import { recordedApi, type RecordedApi } from '../../support/recorded-api.js';

export type PatternsApi = RecordedApi;

/** The workers run from the compiled sources (`npm run build:ts`, which `npm test` runs first). */
export function requireBuiltWorker(): void {
  if (patternWorkerEntry() === null) {
    throw new Error(
      'The pattern worker is not built: run `npm run build:ts` before the pattern integration tests',
    );
  }
}

export async function patternsApi(dir: string): Promise<PatternsApi> {
  requireBuiltWorker();
  return recordedApi({ engine: { threads: 2 }, patterns: { dir, threads: 2 } });
}
