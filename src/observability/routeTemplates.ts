/**
 * Names a request path by the route template it matches (`/api/v2/serve/models/{model_key}`, as
 * the OpenAPI document writes it), so metrics and traces never carry raw keys or tokens.
 */
export function routeTemplateMatcher(templates: readonly string[]): (path: string) => string {
  const matchers = templates.map((template) => ({
    template,
    pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}/?$`),
  }));
  return (path) => matchers.find((m) => m.pattern.test(path))?.template ?? 'unmatched';
}
