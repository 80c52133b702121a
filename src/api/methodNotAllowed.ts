import type { NextFunction, Request, Response } from 'express';
import { ApiError } from '../domain/apiError';

/**
 * 405 with an `Allow` header for a documented path asked with a method it does not have, so
 * a client learns what the path supports instead of a misleading 404. The paths and methods
 * come from the OpenAPI document, the one place that lists them.
 */
export function methodNotAllowed(paths: Record<string, object | undefined>) {
  const routes = Object.entries(paths).map(([template, item]) => ({
    pattern: new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}/?$`),
    methods: Object.keys(item ?? {})
      .filter((key) => ['get', 'post', 'put', 'patch', 'delete'].includes(key))
      .map((m) => m.toUpperCase()),
  }));
  return (req: Request, res: Response, next: NextFunction) => {
    const route = routes.find((r) => r.pattern.test(req.path));
    if (!route || route.methods.includes(req.method)) return next();
    // HEAD is served wherever GET is.
    if (req.method === 'HEAD' && route.methods.includes('GET')) return next();
    res.set('Allow', route.methods.join(', '));
    next(new ApiError(405, 'method_not_allowed', `${req.method} is not supported on ${req.path}; use ${route.methods.join(', ')}`));
  };
}
