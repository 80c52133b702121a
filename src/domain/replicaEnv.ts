import { z } from 'zod';
import { badRequest } from './apiError';

/**
 * Environment variables a user sets for the model's replicas (ZStack and Alaya both offer
 * them), e.g. `VLLM_ALLOW_RUNTIME_LORA_UPDATING: "true"`. Their values may be secrets: they go
 * to the replicas' runtime_env and to the owner's own view of the spec, never into logs or
 * events (those name the variables only).
 */
export type ReplicaEnv = Record<string, string>;

export const ENV_NAME_PATTERN = /^[A-Z_][A-Z0-9_]*$/;
export const MAX_ENV_VARS = 64;
export const MAX_ENV_NAME_LENGTH = 128;
export const MAX_ENV_VALUE_LENGTH = 4096;

/**
 * Variables the platform sets or relies on. A user's value would change how Ray places and runs
 * the replica (RAY_*, the setup-hook variable), which devices it sees (CUDA_*, NVIDIA_*), which
 * revision it reports (ARGUS_*), what code loads (PYTHONPATH, LD_PRELOAD) or whether it reaches
 * a hub (HF_HUB_OFFLINE, HF_ENDPOINT).
 */
const RESERVED_PREFIXES: ReadonlyArray<[string, string]> = [
  ['RAY_', 'Ray reads RAY_* to run and place the replica'],
  ['RAYLLM_', 'Ray Serve LLM reads RAYLLM_* to run the replica'],
  ['__RAY', 'Ray sets it for the replica itself'],
  ['CUDA_', 'the platform decides which devices a replica sees'],
  ['NVIDIA_', 'the platform decides which devices a replica sees'],
  ['ARGUS_', 'the platform sets ARGUS_* (the revision marker among them)'],
];
const RESERVED_NAMES: Readonly<Record<string, string>> = {
  PATH: 'the replica image sets it',
  HOME: 'the replica image sets it',
  PYTHONPATH: 'it changes what code the replica loads',
  PYTHONHOME: 'it changes what code the replica loads',
  LD_PRELOAD: 'it changes what code the replica loads',
  LD_LIBRARY_PATH: 'it changes what code the replica loads',
  HF_HUB_OFFLINE: 'nodes never reach a hub; weights are staged',
  TRANSFORMERS_OFFLINE: 'nodes never reach a hub; weights are staged',
  HF_ENDPOINT: 'nodes never reach a hub; weights are staged',
  HF_HOME: 'weights are read from model_source',
};

/** As users write it: a mapping of names to scalars (YAML `X: 1` is a number; it is kept as "1"). */
export const envInputSchema = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
  .describe(`Environment variables of the replicas: names of [A-Z_][A-Z0-9_]*, at most ${MAX_ENV_VARS}; the platform's own (RAY_*, CUDA_*, ARGUS_*, ...) are refused`)
  .meta({
    override: {
      type: 'object',
      maxProperties: MAX_ENV_VARS,
      propertyNames: { pattern: ENV_NAME_PATTERN.source, maxLength: MAX_ENV_NAME_LENGTH },
      additionalProperties: { type: 'string', maxLength: MAX_ENV_VALUE_LENGTH },
    },
    example: { VLLM_ALLOW_RUNTIME_LORA_UPDATING: 'true' },
  });

/** Why a name is the platform's, or null when a user may set it. */
export function reservedBecause(name: string): string | null {
  const exact = RESERVED_NAMES[name];
  if (exact) return exact;
  const prefix = RESERVED_PREFIXES.find(([p]) => name.startsWith(p));
  return prefix ? prefix[1] : null;
}

const refused = (name: string, why: string) => badRequest('invalid_env', `env.${name} ${why}`, { field: `env.${name}` });

export function checkEnv(input: Record<string, string | number | boolean>): ReplicaEnv {
  const names = Object.keys(input);
  if (names.length > MAX_ENV_VARS) throw badRequest('invalid_env', `env may hold at most ${MAX_ENV_VARS} variables (got ${names.length})`, { field: 'env' });
  const env: ReplicaEnv = {};
  for (const name of names.sort()) {
    // The name is shown as JSON so that a space or a control character in it is visible.
    if (!ENV_NAME_PATTERN.test(name) || name.length > MAX_ENV_NAME_LENGTH) {
      throw badRequest('invalid_env', `env name ${JSON.stringify(name)} must match [A-Z_][A-Z0-9_]* (upper case letters, digits, "_"; not starting with a digit) and be at most ${MAX_ENV_NAME_LENGTH} characters`, { field: 'env' });
    }
    const reason = reservedBecause(name);
    if (reason) throw refused(name, `is set by the platform and cannot be set in a spec: ${reason}`);
    const value = String(input[name]);
    if (value.length > MAX_ENV_VALUE_LENGTH) throw refused(name, `is longer than ${MAX_ENV_VALUE_LENGTH} characters`);
    if (value.includes('\0')) throw refused(name, 'must not contain a NUL character');
    env[name] = value;
  }
  return env;
}

/** What events and logs may say about an env: the names, never the values. */
export function envNames(env: ReplicaEnv | undefined): string[] {
  return Object.keys(env ?? {}).sort();
}
