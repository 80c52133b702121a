import path from 'node:path';
import { ApiError, badRequest, forbidden } from './apiError';

/**
 * `model_source` macros and path rules (API contract section 1.1).
 *
 * Decisions where the contract is silent (also in README "Path rules"):
 * - Only local paths are served; a hub repo id is refused, because nodes have no route to a hub
 *   and weights must be staged under /private/hf first.
 * - Malformed input is 400 `invalid_model_source`: empty, relative, `..` segments, anything
 *   outside printable ASCII (full-width dots and other look-alikes), `%` (encoded tricks such as
 *   `%2e%2e`), backslashes, NUL and other control characters, `$` other than a leading `$HOME`.
 * - A well-formed path outside the allowed roots is 403 `model_source_forbidden`: another user's
 *   directory, anything outside /private, /private/datasets, or a root itself.
 */
export const LOGICAL_ROOT = '/private';
export const MAX_MODEL_SOURCE_LENGTH = 1024;
/**
 * The character-level shape of an acceptable model_source, as the OpenAPI document states it:
 * printable ASCII without "$" (but a leading $HOME), "%" or "\\". The rules a pattern cannot say
 * well (".." segments, surrounding spaces, the allowed roots) are enforced below.
 */
export const MODEL_SOURCE_SHAPE = /^(\$HOME|\$HOME\/[ -#&-\[\]-~]*|\/[ -#&-\[\]-~]*)$/;

const invalid = (why: string): ApiError => badRequest('invalid_model_source', `model_source ${why}`, { field: 'model_source' });

function expandHome(raw: string, userId: string): string {
  if (!raw.startsWith('$')) {
    if (raw.includes('$')) throw invalid('may use "$" only in a leading $HOME macro');
    return raw;
  }
  const macros: Array<[string, string]> = [
    ['$HOME/common/hf', '/private/hf'],
    ['$HOME/common/datasets', '/private/datasets'],
    ['$HOME', `/private/users/${userId}`],
  ];
  for (const [macro, replacement] of macros) {
    if (raw === macro || raw.startsWith(`${macro}/`)) {
      const rest = raw.slice(macro.length);
      if (rest.includes('$')) throw invalid('may use "$" only in a leading $HOME macro');
      return replacement + rest;
    }
  }
  throw invalid('may use "$" only in a leading $HOME, $HOME/common/hf or $HOME/common/datasets macro');
}

/** Expands macros, checks every rule and returns the normalised logical path (`/private/...`). */
export function resolveModelSource(raw: string, userId: string): string {
  if (raw.trim() === '') throw invalid('must not be empty');
  if (raw.length > MAX_MODEL_SOURCE_LENGTH) throw invalid(`must be at most ${MAX_MODEL_SOURCE_LENGTH} characters`);
  // Printable ASCII only: rules out NUL, control characters and unicode look-alikes in one check.
  if (!/^[\x20-\x7e]+$/.test(raw)) throw invalid('must contain only printable ASCII characters');
  if (raw.includes('\\')) throw invalid('must not contain backslashes');
  if (raw.includes('%')) throw invalid('must not contain "%" (percent-encoded paths are refused)');
  if (raw !== raw.trim()) throw invalid('must not start or end with spaces');

  const expanded = expandHome(raw, userId);
  if (!expanded.startsWith('/')) {
    throw invalid(`must be an absolute path under ${LOGICAL_ROOT} (or start with $HOME); hub repo ids are not served`);
  }
  if (expanded.split('/').some((segment) => segment === '..')) throw invalid('must not contain ".." segments');

  const normalised = path.posix.normalize(expanded).replace(/\/+$/, '');
  const ownRoot = `${LOGICAL_ROOT}/users/${userId}/`;
  const allowed = normalised.startsWith(`${LOGICAL_ROOT}/hf/`) || normalised.startsWith(ownRoot);
  if (!allowed) {
    throw forbidden(
      'model_source_forbidden',
      `model_source ${normalised || '/'} is outside the allowed roots: use /private/hf/... or your own ${ownRoot}...`,
      { field: 'model_source' },
    );
  }
  return normalised;
}

/** Maps a logical path to the directory the Ray nodes see; the result is never shown to users. */
export function toStoragePath(logicalPath: string, storageRoot: string): string {
  if (!logicalPath.startsWith(`${LOGICAL_ROOT}/`)) throw new Error(`not a logical path: ${logicalPath}`);
  return path.posix.join(storageRoot, logicalPath.slice(LOGICAL_ROOT.length));
}

/** Text from Ray (messages, tracebacks) with node paths under the storage root shown as the logical paths users know. */
export function toLogicalText(text: string, storageRoot: string): string {
  return text.split(storageRoot).join(LOGICAL_ROOT);
}
