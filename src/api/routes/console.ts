import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import helmet from 'helmet';
import { ApiError } from '../../domain/apiError';

/** Where the build puts the console (vite, console/vite.config.ts): dist/console of the package. */
export function consoleAssetsDir(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return path.join(dir, 'dist', 'console');
}

/**
 * The web console for model owners, a static single-page app that calls only the public API
 * (same origin) and the OpenAI endpoint (its chat box). Every path under /console that is not an
 * asset answers the app's page, whose router takes it from there.
 */
export function consoleRoutes(options: { openaiBaseUrl: string; assetsDir?: string }): Router {
  const assets = options.assetsDir ?? consoleAssetsDir();
  const router = Router();
  // The page may talk to its own origin and to the OpenAI endpoint, and load nothing from elsewhere.
  router.use(
    helmet.contentSecurityPolicy({
      directives: {
        defaultSrc: ["'self'"],
        connectSrc: ["'self'", new URL(options.openaiBaseUrl).origin],
        imgSrc: ["'self'", 'data:'],
        styleSrc: ["'self'"],
        scriptSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
      },
    }),
  );
  // Built assets carry a content hash in their names, so they may be cached for good.
  router.use('/assets', express.static(path.join(assets, 'assets'), { immutable: true, maxAge: '365d', fallthrough: false }));
  router.use(express.static(assets, { index: false }));
  // Read on every request (a small file): a rebuild's new asset names show without a restart.
  router.get('/{*rest}', (_req, res, next) => {
    res.type('html').sendFile(path.join(assets, 'index.html'), { cacheControl: false }, (err) => {
      if (err) next(new ApiError(503, 'console_not_built', 'the console is not built on this server; run `make install` (it builds dist/console) and restart the API'));
    });
  });
  return router;
}
