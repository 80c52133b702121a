import fs from 'node:fs';
import path from 'node:path';
import { ApiError, badRequest, unprocessable } from './apiError';
import { toStoragePath } from './modelSourcePath';

/**
 * `model_source` as a hub repo id (API contract: "a local path or a repo id").
 *
 * Nodes have no route to a hub, so a repo id is only a name for a checkpoint someone already
 * staged in the shared Hugging Face cache under /private/hf/hub, in the layout huggingface_hub
 * itself writes: `models--<org>--<name>/{refs/<ref>, snapshots/<commit>/, blobs/}`. Resolving an
 * id turns it into the logical path of one snapshot, pinned to its commit, so a deployment keeps
 * serving the same weights even if `refs/main` later moves.
 */
export const HF_HUB_LOGICAL_ROOT = '/private/hf/hub';

export interface RepoId {
  org: string;
  name: string;
  revision: string | null;
}

export interface ResolvedRepo {
  /** `org/name`, without the revision. */
  repo_id: string;
  /** The revision asked for, or `main` when none was. */
  revision: string;
  /** The 40-hex commit of the snapshot served. */
  commit: string;
  /** `/private/hf/hub/models--org--name/snapshots/<commit>`; never a machine path. */
  logical_path: string;
}

const PART_MAX = 96;
const REVISION_MAX = 128;
const REF_MAX_BYTES = 256;
const SHA = /^[0-9a-f]{40}$/i;
const HINT = 'a repo id looks like org/name or org/name@revision';

const invalid = (why: string): ApiError =>
  badRequest('invalid_model_source', `model_source ${why}; ${HINT}`, { field: 'model_source' });

/**
 * A value is meant as a repo id when it is neither absolute nor a `$HOME` macro yet has a "/":
 * `foo/bar` reads as a repo id (relative paths are never served), while `foo` alone is left to
 * the path rules, which refuse it as a relative path.
 */
export function isRepoIdLike(raw: string): boolean {
  return !raw.startsWith('/') && !raw.startsWith('$') && raw.includes('/');
}

function checkPart(label: 'org' | 'name', value: string): void {
  if (value === '') throw invalid(`${label} must not be empty`);
  if (value.length > PART_MAX) throw invalid(`${label} must be at most ${PART_MAX} characters`);
  if (label === 'name' && (value === '.' || value === '..')) throw invalid('name must not be "." or ".."');
  if (!/^[A-Za-z0-9]/.test(value)) throw invalid(`${label} must start with a letter or digit`);
  if (!/^[A-Za-z0-9._-]+$/.test(value)) throw invalid(`${label} may contain only letters, digits, ".", "_" and "-"`);
  // The cache folder is models--<org>--<name>: a "--" inside either part would make it ambiguous.
  if (value.includes('--')) throw invalid(`${label} must not contain "--" (the cache folder models--org--name uses it as a separator)`);
  // The hub never creates such a name, and some file systems drop a trailing dot from a folder name.
  if (value.endsWith('.')) throw invalid(`${label} must not end with "."`);
}

function checkRevision(value: string): void {
  if (value === '') throw invalid('revision after "@" must not be empty');
  if (value.length > REVISION_MAX) throw invalid(`revision must be at most ${REVISION_MAX} characters`);
  if (!/^[A-Za-z0-9]/.test(value)) throw invalid('revision must start with a letter or digit');
  if (!/^[A-Za-z0-9._/-]+$/.test(value)) throw invalid('revision may contain only letters, digits, ".", "_", "-" and "/"');
  if (value.endsWith('/')) throw invalid('revision must not end with "/"');
  // The revision names a file under refs/: "..", "." or empty segments would leave it or alias another ref.
  if (value.split('/').some((segment) => segment === '..' || segment === '.' || segment === '')) {
    throw invalid('revision must not contain "..", "." or empty path segments');
  }
}

/** Parses `org/name[@revision]`; throws 400 invalid_model_source naming the rule broken. */
export function parseRepoId(raw: string): RepoId {
  const at = raw.indexOf('@');
  const repo = at === -1 ? raw : raw.slice(0, at);
  const revision = at === -1 ? null : raw.slice(at + 1);
  const parts = repo.split('/');
  if (parts.length !== 2) throw invalid('must name exactly one org and one model, separated by a single "/"');
  const [org = '', name = ''] = parts;
  checkPart('org', org);
  checkPart('name', name);
  if (revision !== null) checkRevision(revision);
  return { org, name, revision };
}

/** stat that answers null for "not there" (missing, a file where a folder was expected, a link loop). */
function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return null;
    throw err;
  }
}

/**
 * Resolves a repo id to one staged snapshot of the shared cache: no revision reads refs/main; a
 * 40-hex revision with its own snapshot is that snapshot; any other revision reads refs/<revision>.
 * Synchronous on purpose: it runs inside request validation and reads a handful of tiny files.
 * Messages carry only logical /private paths, never the storage root.
 */
export function resolveRepoId(raw: string, storageRoot: string): ResolvedRepo {
  const { org, name, revision: asked } = parseRepoId(raw);
  const repoId = `${org}/${name}`;
  const revision = asked ?? 'main';
  const folder = `models--${org}--${name}`;
  const logicalRepo = `${HF_HUB_LOGICAL_ROOT}/${folder}`;
  const hubDir = toStoragePath(HF_HUB_LOGICAL_ROOT, storageRoot);
  const repoDir = path.join(hubDir, folder);
  const bySha = SHA.test(revision);

  const stageHint = bySha
    ? `stage the checkpoint under ${logicalRepo}/snapshots/${revision}`
    : `stage the checkpoint under ${logicalRepo}/snapshots/<commit> and write <commit> to ${logicalRepo}/refs/${revision}`;
  const notStaged = (what: string): ApiError =>
    unprocessable(
      'model_not_staged',
      `model_source ${raw} is not staged: ${what}; ${stageHint} (nodes never download from a hub)`,
      { field: 'model_source' },
    );

  if (!statOrNull(repoDir)?.isDirectory()) throw notStaged(`no ${logicalRepo}`);

  let commit = revision;
  const viaRef = !(bySha && statOrNull(path.join(repoDir, 'snapshots', revision))?.isDirectory());
  if (viaRef) {
    const refFile = path.join(repoDir, 'refs', revision);
    const ref = statOrNull(refFile);
    if (!ref?.isFile()) {
      throw notStaged(bySha ? `no ${logicalRepo}/snapshots/${revision} or refs/${revision}` : `no ${logicalRepo}/refs/${revision}`);
    }
    const malformed = notStaged(`${logicalRepo}/refs/${revision} is malformed (it must hold a 40-hex commit sha)`);
    // A ref holds 40 characters; a big file there (a blob linked by mistake) is not read into memory.
    if (ref.size > REF_MAX_BYTES) throw malformed;
    commit = fs.readFileSync(refFile, 'utf8').trim();
    if (!SHA.test(commit)) throw malformed;
  }

  const logicalPath = `${logicalRepo}/snapshots/${commit}`;
  const snapshotDir = path.join(repoDir, 'snapshots', commit);
  if (!statOrNull(snapshotDir)?.isDirectory()) {
    // Only reachable through a ref: a sha revision without its own snapshot went to refs/ above.
    throw notStaged(`${logicalRepo}/refs/${revision} points to ${commit} but ${logicalPath} does not exist`);
  }
  // Only the snapshot folder itself must stay in the cache: its files are links to ../../blobs.
  const hubReal = fs.realpathSync(hubDir);
  if (!fs.realpathSync(snapshotDir).startsWith(hubReal + path.sep)) {
    throw new ApiError(
      403,
      'model_source_forbidden',
      `model_source ${raw} resolves outside ${HF_HUB_LOGICAL_ROOT}: ${logicalPath} is a link that leaves the cache; stage the snapshot as a folder inside it`,
      { field: 'model_source' },
    );
  }
  if (!statOrNull(path.join(snapshotDir, 'config.json'))?.isFile()) throw notStaged(`${logicalPath} has no config.json`);

  return { repo_id: repoId, revision, commit, logical_path: logicalPath };
}
