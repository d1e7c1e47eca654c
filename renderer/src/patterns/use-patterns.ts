import { useStore } from 'zustand';
import { useBridge } from '../state/store-context.js';
import { patternsStoreFor, type PatternsState } from './patterns-store.js';

/** Reads the Patterns view's state (select stable parts: whole slices or values, not new objects). */
export function usePatterns<T>(selector: (state: PatternsState) => T): T {
  return useStore(patternsStoreFor(useBridge()), selector);
}

/** Whether a job of the view is under way (its progress is shown, its start button disabled). */
export function isBusy(status: PatternsState['search']['status']): boolean {
  return status === 'starting' || status === 'running' || status === 'cancelling';
}
