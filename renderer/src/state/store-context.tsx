import { createContext, useContext, type ReactNode } from 'react';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import type { HostBridge } from '../bridge/bridge.js';
import type { AppState } from './store.js';

// The store and the bridge reach components through context, so tests render views against their own store.
const StoreContext = createContext<{ store: StoreApi<AppState>; bridge: HostBridge } | null>(null);

export function StoreProvider(props: { store: StoreApi<AppState>; bridge: HostBridge; children: ReactNode }) {
  return (
    <StoreContext.Provider value={{ store: props.store, bridge: props.bridge }}>
      {props.children}
    </StoreContext.Provider>
  );
}

function useContextValue() {
  const value = useContext(StoreContext);
  if (!value) throw new Error('A view was rendered outside <StoreProvider>');
  return value;
}

export function useAppState<T>(selector: (state: AppState) => T): T {
  return useStore(useContextValue().store, selector);
}

export function useBridge(): HostBridge {
  return useContextValue().bridge;
}
