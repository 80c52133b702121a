import { LRUCache } from 'lru-cache';
import { specToYaml, type ServingSpec } from '../domain/servingSpec';

/**
 * `specToYaml`, remembered per spec: a model's detail is read far more often than its spec
 * changes, and rendering YAML costs far more than the JSON key it is remembered by (the same JSON,
 * key order included, always renders the same YAML).
 */
const rendered = new LRUCache<string, string>({ max: 5_000 });

export function resolvedSpecYaml(spec: ServingSpec): string {
  const key = JSON.stringify(spec);
  let yaml = rendered.get(key);
  if (yaml === undefined) {
    yaml = specToYaml(spec);
    rendered.set(key, yaml);
  }
  return yaml;
}
