import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/**
 * Whether Ray's own code accepts a PUT body: python/tools/validate_serve_config.py runs Ray's
 * pydantic models and builds every model's deployment with Ray Serve LLM's builder.
 */
export function rayValidates(body: unknown): { ok: boolean; output: string } {
  const result = spawnSync(process.env.ARGUS_TEST_PYTHON ?? path.join(ROOT, '.venv/bin/python'), ['python/tools/validate_serve_config.py'], {
    cwd: ROOT,
    input: JSON.stringify(body),
    // vLLM logs its platform checks to stdout on import; only the verdict belongs there.
    env: { ...process.env, PYTHONPATH: 'python:python/shims', VLLM_LOGGING_LEVEL: 'ERROR' },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { ok: result.status === 0, output: result.status === 0 ? result.stdout : `${result.stdout}${result.stderr.slice(-4000)}` };
}
