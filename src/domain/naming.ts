import { randomInt } from 'node:crypto';
import { z } from 'zod';

/**
 * Naming rules (API contract section 0.3).
 *
 * user_id: 1-32 chars of [a-z0-9_-], starting with a letter or digit. Lower case only, because it
 * becomes part of model ids, Ray deployment names and Temporal workflow ids.
 * suffix (the spec's `model_id`): 1-64 chars of [A-Za-z0-9._-], starting and ending with a letter or
 * digit, and no two dots in a row, so `qwen-0.5b` works while spaces, slashes and `..` cannot appear.
 */
export const USER_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const SUFFIX_PATTERN = /^(?!.*\.\.)[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$/;

export const userIdSchema = z
  .string()
  .regex(USER_ID_PATTERN, 'user_id must be 1-32 characters of a-z, 0-9, "_" or "-", starting with a letter or digit');

export const suffixSchema = z
  .string()
  .regex(
    SUFFIX_PATTERN,
    'model_id must be 1-64 characters of letters, digits, ".", "_" or "-", start and end with a letter or digit, and not contain ".."',
  );

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `YYYYMMDD`, `HHMMSS` and `YYYYMMDDHHMM` in UTC. */
function stamp(at: Date): { date: string; time: string; minute: string } {
  const date = `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}`;
  const time = `${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
  return { date, time, minute: date + time.slice(0, 4) };
}

const KEY_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** `svc-<user_id>-<YYYYMMDD>-<HHMMSS>-<4 random [0-9a-z]>`. */
export function newModelKey(userId: string, at: Date, random: () => number = () => randomInt(KEY_ALPHABET.length)): string {
  const { date, time } = stamp(at);
  let tail = '';
  for (let i = 0; i < 4; i++) tail += KEY_ALPHABET[random()];
  return `svc-${userId}-${date}-${time}-${tail}`;
}

export const MODEL_KEY_PATTERN = /^svc-[a-z0-9][a-z0-9_-]{0,31}-\d{8}-\d{6}-[0-9a-z]{4}$/;

/** `<user_id>-<YYYYMMDDHHMM>`: fixed when a model is first created; an upsert keeps it. */
export function modelIdPrefix(userId: string, at: Date): string {
  return `${userId}-${stamp(at).minute}`;
}

/** The OpenAI model name users call: `<prefix>-<suffix>`. */
export function publicModelId(prefix: string, suffix: string): string {
  return `${prefix}-${suffix}`;
}
