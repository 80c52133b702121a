import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';

/**
 * The line (from 1) of a spec field in the YAML text, by the dotted name the API gives in
 * `error.field` (`gpus_per_replica`, `autoscaling.max_replicas`, `env.RAY_FOO`). When only a
 * parent is there, its line; null when not even the first key is (a missing required field).
 */
export function lineOfField(text: string, field: string): number | null {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  let node: unknown = doc.contents;
  let line: number | null = null;
  for (const key of field.split('.')) {
    if (!isMap(node)) break;
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (!pair || !isScalar(pair.key) || !pair.key.range) break;
    line = lineCounter.linePos(pair.key.range[0]).line;
    node = pair.value;
  }
  return line;
}
