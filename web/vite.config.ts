// Builds the web pages into web/dist, served by varelayd (--web-root). Two pages, each its own
// entry: the payment page (/pay/{id}) and the master pages (/master/...). Asset names carry a
// content hash, so varelayd can let browsers keep them for a year.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Not import.meta.dirname: Debian 12's node (18.19) lacks it.
const here = dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/',
  publicDir: false,
  build: {
    outDir: resolve(here, 'dist'),
    emptyOutDir: true,
    assetsDir: 'assets',
    // No inline <script> or data: module: the Content-Security-Policy allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2020',
    rollupOptions: {
      input: {
        pay: resolve(here, 'pay/index.html'),
        master: resolve(here, 'master/index.html'),
      },
    },
  },
  server: { strictPort: true },
  test: { include: ['src/**/*.test.ts'], environment: 'node' },
});
