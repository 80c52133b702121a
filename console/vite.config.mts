import path from 'node:path';
import { defineConfig } from 'vite';

/**
 * The console is bundled here and served by the API under /console (src/api/routes/console.ts);
 * nothing is fetched from a CDN at run time. JSX is compiled by Vite's own transform (React's
 * automatic runtime, from tsconfig.json), so no plugin is needed for a production build.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  build: {
    outDir: path.resolve(import.meta.dirname, '../dist/console'),
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      // React libraries mark their modules "use client" for server components; a browser bundle has no use for it.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  logLevel: 'warn',
});
