// Builds the operations dashboard into ../dist, which the Go server embeds and serves at /.
// `npm run dev` serves it with /graphql (websockets too) proxied to a hub on HUB_URL
// (default http://127.0.0.1:18080, e.g. `hub demo --addr 127.0.0.1:18080`).
import { defineConfig } from 'vite';

const proxy = {
  '/graphql': { target: process.env.HUB_URL || 'http://127.0.0.1:18080', ws: true, changeOrigin: true },
};

// The policy web/web.go sends with the page.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

export default defineConfig({
  // Relative asset URLs: the page works wherever the hub mounts it.
  base: './',
  // Preact's JSX through Vite's own transform: no plugin.
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  // The dev server's dependency scan reads JSX with its own options.
  optimizeDeps: { rolldownOptions: { transform: { jsx: { runtime: 'automatic', importSource: 'preact' } } } },
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline scripts (the hub's Content-Security-Policy forbids them) and nothing that
    // varies between builds: one entry chunk, one stylesheet, content-hashed names.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: { host: '127.0.0.1', proxy },
  // `npm run preview` serves the build as the hub does: same Content-Security-Policy.
  preview: { host: '127.0.0.1', proxy, headers: { 'Content-Security-Policy': CSP } },
});
