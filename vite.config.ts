import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const root = path.dirname(fileURLToPath(import.meta.url));

// Two builds from one file: `vite build` makes the renderer (dist/renderer, served by both hosts), and
// `vite build --mode preload` bundles Electron's preload into one CommonJS file, because a sandboxed preload
// can require nothing but a few Electron modules.
export default defineConfig(({ mode }) =>
  mode === 'preload'
    ? {
        build: {
          outDir: path.join(root, 'dist/preload'),
          emptyOutDir: true,
          minify: false,
          sourcemap: true,
          lib: {
            entry: path.join(root, 'main/electron/preload.ts'),
            formats: ['cjs'],
            fileName: () => 'preload.cjs',
          },
          rollupOptions: { external: ['electron'] },
        },
      }
    : {
        root: path.join(root, 'renderer'),
        base: '/',
        plugins: [react()],
        build: {
          outDir: path.join(root, 'dist/renderer'),
          emptyOutDir: true,
          sourcemap: true,
          // No inline scripts or data: URLs: the hosts' CSP allows scripts from 'self' only.
          assetsInlineLimit: 0,
          modulePreload: { polyfill: false },
        },
      },
);
