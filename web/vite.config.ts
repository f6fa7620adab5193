// Builds the web pages into web/dist, served by varelayd (--web-root). Two pages, each its own
// entry: the payment page (/pay/{id}) and the master pages (/master/...). Asset names carry a
// content hash, so varelayd can let browsers keep them for a year.
import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  publicDir: false,
  build: {
    outDir: resolve(import.meta.dirname, 'dist'),
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline <script> or data: module: the Content-Security-Policy allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2020',
    rollupOptions: {
      input: {
        pay: resolve(import.meta.dirname, 'pay/index.html'),
        master: resolve(import.meta.dirname, 'master/index.html'),
      },
    },
  },
  server: { strictPort: true },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
