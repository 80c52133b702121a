import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApiError } from '../../src/domain/apiError';
import { HF_HUB_LOGICAL_ROOT, isRepoIdLike, parseRepoId, resolveRepoId } from '../../src/domain/modelRepo';
import { apiErrorOf } from '../support/apiErrorOf';

const HINT = '; a repo id looks like org/name or org/name@revision';
const NEVER_DOWNLOADS = ' (nodes never download from a hub)';

const sha = (digit: string): string => digit.repeat(40);
const MAIN = sha('a');
const TAG = sha('b');
const PINNED = sha('c'); // has a snapshot but no ref naming it
const GHOST = sha('d'); // named by a ref, never staged
const NO_CONFIG = sha('e');
const ESCAPE = sha('f');
const INSIDE_LINK = sha('1');
const DANGLING = sha('2');
const UNREFERENCED = sha('3'); // neither snapshot nor ref

describe('hub repo ids in model_source', () => {
  let storage: string;
  const repo = `${HF_HUB_LOGICAL_ROOT}/models--acme--chat`;

  beforeAll(() => {
    storage = fs.mkdtempSync(path.join(os.tmpdir(), 'model-repo-'));
    const hub = path.join(storage, 'hf', 'hub');
    const write = (rel: string, text: string) => {
      const file = path.join(hub, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
    };
    const acme = 'models--acme--chat';
    // As huggingface_hub stages it: snapshot files are relative links into blobs/.
    write(`${acme}/blobs/0123`, '{}');
    fs.mkdirSync(path.join(hub, acme, 'snapshots', MAIN), { recursive: true });
    fs.symlinkSync('../../blobs/0123', path.join(hub, acme, 'snapshots', MAIN, 'config.json'));
    write(`${acme}/refs/main`, `${MAIN}\n`);
    write(`${acme}/snapshots/${TAG}/config.json`, '{}');
    write(`${acme}/refs/v2.0`, TAG);
    write(`${acme}/refs/refs/pr/1`, TAG);
    write(`${acme}/snapshots/${PINNED}/config.json`, '{}');
    write(`${acme}/refs/ghost`, GHOST);
    write(`${acme}/refs/bad`, 'not-a-sha\n');
    // A valid sha padded past any ref's size: refused as malformed, so it was never read.
    write(`${acme}/refs/huge`, `${MAIN}${' '.repeat(300)}`);
    write(`${acme}/snapshots/${NO_CONFIG}/tokenizer.json`, '{}');
    write(`${acme}/refs/noconfig`, NO_CONFIG);
    write(`${acme}/snapshots/${DANGLING}/.keep`, '');
    fs.symlinkSync('../../blobs/gone', path.join(hub, acme, 'snapshots', DANGLING, 'config.json'));
    write(`${acme}/refs/dangling`, DANGLING);
    // A snapshot folder that is a link out of the cache, to a folder that looks like a checkpoint.
    fs.mkdirSync(path.join(storage, 'elsewhere'), { recursive: true });
    fs.writeFileSync(path.join(storage, 'elsewhere', 'config.json'), '{}');
    fs.symlinkSync(path.join(storage, 'elsewhere'), path.join(hub, acme, 'snapshots', ESCAPE));
    write(`${acme}/refs/escape`, ESCAPE);
    // A snapshot folder linked to another repo's snapshot stays inside the cache, so it is served.
    write(`models--acme--base/snapshots/${TAG}/config.json`, '{}');
    fs.symlinkSync(`../../models--acme--base/snapshots/${TAG}`, path.join(hub, acme, 'snapshots', INSIDE_LINK));
    write(`${acme}/refs/linked`, INSIDE_LINK);
    write(`models--Qwen--Qwen2.5-0.5B-Instruct/snapshots/${MAIN}/config.json`, '{}');
    write('models--Qwen--Qwen2.5-0.5B-Instruct/refs/main', MAIN);
  });

  afterAll(() => fs.rmSync(storage, { recursive: true, force: true }));

  describe('isRepoIdLike', () => {
    it.each([
      ['Qwen/Qwen2.5-0.5B-Instruct', true],
      ['acme/chat@v2.0', true],
      ['foo/bar', true],
      ['not a/valid id', true], // meant as a repo id; parseRepoId then says what is wrong
      ['foo', false],
      ['', false],
      ['/private/hf/demo/tiny-chat', false],
      ['$HOME/models/mine', false],
      ['$HOME', false],
    ])('%j -> %s', (raw, expected) => expect(isRepoIdLike(raw)).toBe(expected));
  });

  describe('parseRepoId', () => {
    it.each([
      ['Qwen/Qwen2.5-0.5B-Instruct', { org: 'Qwen', name: 'Qwen2.5-0.5B-Instruct', revision: null }],
      ['argus-demo/tiny-llama@v2', { org: 'argus-demo', name: 'tiny-llama', revision: 'v2' }],
      ['a/b@refs/pr/1', { org: 'a', name: 'b', revision: 'refs/pr/1' }],
      [`a/b@${MAIN}`, { org: 'a', name: 'b', revision: MAIN }],
      ['o_1/n.a-m_e@v1.0', { org: 'o_1', name: 'n.a-m_e', revision: 'v1.0' }],
      [`${'o'.repeat(96)}/${'n'.repeat(96)}@${'r'.repeat(128)}`, { org: 'o'.repeat(96), name: 'n'.repeat(96), revision: 'r'.repeat(128) }],
    ])('parses %s', (raw, expected) => expect(parseRepoId(raw)).toEqual(expected));

    it.each([
      ['/name', 'org must not be empty'],
      ['org/', 'name must not be empty'],
      ['a/b/c', 'must name exactly one org and one model, separated by a single "/"'],
      ['a//b', 'must name exactly one org and one model, separated by a single "/"'],
      ['ab@c/d', 'must name exactly one org and one model, separated by a single "/"'],
      [`${'o'.repeat(97)}/n`, 'org must be at most 96 characters'],
      [`o/${'n'.repeat(97)}`, 'name must be at most 96 characters'],
      ['org/.', 'name must not be "." or ".."'],
      ['org/..', 'name must not be "." or ".."'],
      ['.org/name', 'org must start with a letter or digit'],
      ['org/-name', 'name must start with a letter or digit'],
      ['my org/name', 'org may contain only letters, digits, ".", "_" and "-"'],
      ['org/na%2fme', 'name may contain only letters, digits, ".", "_" and "-"'],
      ['org/caf\u00e9', 'name may contain only letters, digits, ".", "_" and "-"'],
      ['org/name\n', 'name may contain only letters, digits, ".", "_" and "-"'],
      ['a--b/name', 'org must not contain "--" (the cache folder models--org--name uses it as a separator)'],
      ['org/na--me', 'name must not contain "--" (the cache folder models--org--name uses it as a separator)'],
      ['org./name', 'org must not end with "."'],
      ['org/name.', 'name must not end with "."'],
      ['org/name@', 'revision after "@" must not be empty'],
      [`org/name@${'r'.repeat(129)}`, 'revision must be at most 128 characters'],
      ['org/name@-x', 'revision must start with a letter or digit'],
      ['org/name@/x', 'revision must start with a letter or digit'],
      ['org/name@v 1', 'revision may contain only letters, digits, ".", "_", "-" and "/"'],
      ['org/name@a@b', 'revision may contain only letters, digits, ".", "_", "-" and "/"'],
      ['org/name@refs/pr/', 'revision must not end with "/"'],
      ['org/name@a/../../etc', 'revision must not contain "..", "." or empty path segments'],
      ['org/name@a/./b', 'revision must not contain "..", "." or empty path segments'],
      ['org/name@a//b', 'revision must not contain "..", "." or empty path segments'],
    ])('refuses %j: %s', (raw, why) => {
      const err = apiErrorOf(() => parseRepoId(raw));
      expect(err.status).toBe(400);
      expect(err.code).toBe('invalid_model_source');
      expect(err.details).toEqual({ field: 'model_source' });
      expect(err.message).toBe(`model_source ${why}${HINT}`);
    });
  });

  describe('resolveRepoId', () => {
    const resolve = (raw: string) => resolveRepoId(raw, storage);
    /** The 422 a call throws; its message must never carry the storage root. */
    const notStaged = (raw: string): string => {
      const err = apiErrorOf(() => resolve(raw));
      expect(err.status).toBe(422);
      expect(err.code).toBe('model_not_staged');
      expect(err.details).toEqual({ field: 'model_source' });
      expect(err.message).not.toContain(storage);
      return err.message;
    };

    it('reads refs/main when no revision is given (the contract example, dots and all)', () => {
      expect(resolve('Qwen/Qwen2.5-0.5B-Instruct')).toEqual({
        repo_id: 'Qwen/Qwen2.5-0.5B-Instruct',
        revision: 'main',
        commit: MAIN,
        logical_path: `${HF_HUB_LOGICAL_ROOT}/models--Qwen--Qwen2.5-0.5B-Instruct/snapshots/${MAIN}`,
      });
      // The snapshot's config.json is a link into blobs/, as huggingface_hub stages it.
      expect(resolve('acme/chat')).toEqual({ repo_id: 'acme/chat', revision: 'main', commit: MAIN, logical_path: `${repo}/snapshots/${MAIN}` });
    });

    it('reads a tag or branch ref, including one with slashes', () => {
      expect(resolve('acme/chat@v2.0')).toEqual({ repo_id: 'acme/chat', revision: 'v2.0', commit: TAG, logical_path: `${repo}/snapshots/${TAG}` });
      expect(resolve('acme/chat@refs/pr/1')).toMatchObject({ revision: 'refs/pr/1', commit: TAG });
    });

    it('takes a commit sha straight to its snapshot, with no ref needed', () => {
      expect(resolve(`acme/chat@${PINNED}`)).toEqual({ repo_id: 'acme/chat', revision: PINNED, commit: PINNED, logical_path: `${repo}/snapshots/${PINNED}` });
    });

    it('serves a snapshot folder linked to another place inside the cache', () => {
      expect(resolve('acme/chat@linked')).toMatchObject({ commit: INSIDE_LINK, logical_path: `${repo}/snapshots/${INSIDE_LINK}` });
    });

    it('says where to stage a repo that is not there', () => {
      expect(notStaged('acme/missing')).toBe(
        `model_source acme/missing is not staged: no ${HF_HUB_LOGICAL_ROOT}/models--acme--missing; ` +
          `stage the checkpoint under ${HF_HUB_LOGICAL_ROOT}/models--acme--missing/snapshots/<commit> ` +
          `and write <commit> to ${HF_HUB_LOGICAL_ROOT}/models--acme--missing/refs/main${NEVER_DOWNLOADS}`,
      );
      expect(notStaged(`acme/missing@${MAIN}`)).toBe(
        `model_source acme/missing@${MAIN} is not staged: no ${HF_HUB_LOGICAL_ROOT}/models--acme--missing; ` +
          `stage the checkpoint under ${HF_HUB_LOGICAL_ROOT}/models--acme--missing/snapshots/${MAIN}${NEVER_DOWNLOADS}`,
      );
    });

    it('says which ref is missing', () => {
      expect(notStaged('acme/chat@v3')).toBe(
        `model_source acme/chat@v3 is not staged: no ${repo}/refs/v3; ` +
          `stage the checkpoint under ${repo}/snapshots/<commit> and write <commit> to ${repo}/refs/v3${NEVER_DOWNLOADS}`,
      );
      expect(notStaged(`acme/chat@${UNREFERENCED}`)).toBe(
        `model_source acme/chat@${UNREFERENCED} is not staged: no ${repo}/snapshots/${UNREFERENCED} or refs/${UNREFERENCED}; ` +
          `stage the checkpoint under ${repo}/snapshots/${UNREFERENCED}${NEVER_DOWNLOADS}`,
      );
      // refs/refs is a folder (it holds refs/pr/1): a folder is not a ref.
      expect(notStaged('acme/chat@refs')).toContain(`no ${repo}/refs/refs;`);
    });

    it('says when a ref points to a snapshot that was never staged', () => {
      expect(notStaged('acme/chat@ghost')).toBe(
        `model_source acme/chat@ghost is not staged: ${repo}/refs/ghost points to ${GHOST} but ${repo}/snapshots/${GHOST} does not exist; ` +
          `stage the checkpoint under ${repo}/snapshots/<commit> and write <commit> to ${repo}/refs/ghost${NEVER_DOWNLOADS}`,
      );
    });

    it('says when a ref is malformed, without reading a big one', () => {
      const malformed = (ref: string) =>
        `model_source acme/chat@${ref} is not staged: ${repo}/refs/${ref} is malformed (it must hold a 40-hex commit sha); ` +
        `stage the checkpoint under ${repo}/snapshots/<commit> and write <commit> to ${repo}/refs/${ref}${NEVER_DOWNLOADS}`;
      expect(notStaged('acme/chat@bad')).toBe(malformed('bad'));
      expect(notStaged('acme/chat@huge')).toBe(malformed('huge'));
    });

    it('says when a snapshot has no config.json (or only a dangling link to one)', () => {
      expect(notStaged('acme/chat@noconfig')).toBe(
        `model_source acme/chat@noconfig is not staged: ${repo}/snapshots/${NO_CONFIG} has no config.json; ` +
          `stage the checkpoint under ${repo}/snapshots/<commit> and write <commit> to ${repo}/refs/noconfig${NEVER_DOWNLOADS}`,
      );
      expect(notStaged('acme/chat@dangling')).toContain(`${repo}/snapshots/${DANGLING} has no config.json`);
    });

    it('refuses a snapshot folder that links out of the cache', () => {
      const err = apiErrorOf(() => resolve('acme/chat@escape'));
      expect(err.status).toBe(403);
      expect(err.code).toBe('model_source_forbidden');
      expect(err.details).toEqual({ field: 'model_source' });
      expect(err.message).toBe(
        `model_source acme/chat@escape resolves outside ${HF_HUB_LOGICAL_ROOT}: ${repo}/snapshots/${ESCAPE} is a link that leaves the cache; ` +
          'stage the snapshot as a folder inside it',
      );
      expect(err.message).not.toContain(storage);
    });

    it('answers a bad id with the 400 of parseRepoId before touching the disk', () => {
      const err = apiErrorOf(() => resolveRepoId('acme/chat@a/../../..', '/nonexistent'));
      expect([err.status, err.code]).toEqual([400, 'invalid_model_source']);
    });

    it('answers any well-formed id with a result or an ApiError that names no machine path (property)', () => {
      const id = fc.tuple(
        fc.constantFrom('acme', 'Qwen', 'nobody'),
        fc.constantFrom('chat', 'base', 'Qwen2.5-0.5B-Instruct', 'x'),
        fc.option(fc.constantFrom('main', 'v2.0', 'refs/pr/1', 'refs', 'ghost', 'bad', 'escape', 'linked', MAIN, TAG, PINNED, GHOST, 'refs/pr', 'blobs')),
      );
      fc.assert(
        fc.property(id, ([org, name, revision]) => {
          const raw = revision === null ? `${org}/${name}` : `${org}/${name}@${revision}`;
          let result;
          try {
            result = resolve(raw);
          } catch (err) {
            if (!(err instanceof ApiError)) throw err;
            expect([403, 422]).toContain(err.status);
            expect(err.message).not.toContain(storage);
            return;
          }
          expect(result.repo_id).toBe(`${org}/${name}`);
          expect(result.logical_path).toBe(`${HF_HUB_LOGICAL_ROOT}/models--${org}--${name}/snapshots/${result.commit}`);
        }),
        { numRuns: 500 },
      );
    });
  });

  describe('grammar (properties)', () => {
    // The grammar written out again, independently of the module, as the oracle.
    const PART = /^(?!.*--)[A-Za-z0-9][A-Za-z0-9._-]{0,95}(?<!\.)$/;
    const REVISION = /^(?!.*\/\/)(?!(?:.*\/)?\.\.?(?:\/|$))[A-Za-z0-9][A-Za-z0-9._/-]{0,127}(?<!\/)$/;
    const fitsGrammar = (raw: string): boolean => {
      const match = /^([^/@]*)\/([^/@]*)(?:@(.*))?$/s.exec(raw);
      if (!match) return false;
      const [, org = '', name = '', revision] = match;
      return PART.test(org) && PART.test(name) && (revision === undefined || REVISION.test(revision));
    };

    const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'.split('');
    const alnum = fc.constantFrom(...ALNUM);
    // Separators as often as letters, so "." "_" "-" runs and boundaries are exercised.
    const partChar = fc.oneof(alnum, fc.constantFrom('.', '_', '-'));
    const part = fc
      .tuple(alnum, fc.array(partChar, { maxLength: 95 }))
      .map(([head, tail]) => (head + tail.join('')).replace(/-{2,}/g, '-').replace(/\.+$/, ''));
    const segment = fc.array(partChar, { minLength: 1, maxLength: 24 }).map((chars) => chars.join('')).filter((s) => s !== '.' && s !== '..');
    const revision = fc.oneof(
      fc.tuple(alnum, fc.array(partChar, { maxLength: 20 }), fc.array(segment, { maxLength: 5 }))
        .map(([head, tail, rest]) => [head + tail.join(''), ...rest].join('/'))
        .filter((r) => r.length <= 128),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: 40, maxLength: 40 }),
      fc.constantFrom('main', 'v1.0', 'refs/pr/1'),
    );
    const validId = fc.tuple(part, part, fc.option(revision)).map(([org, name, rev]) => (rev === null ? `${org}/${name}` : `${org}/${name}@${rev}`));

    it('the oracle agrees with the hand-picked cases', () => {
      expect(fitsGrammar('Qwen/Qwen2.5-0.5B-Instruct')).toBe(true);
      expect(fitsGrammar('a/b@refs/pr/1')).toBe(true);
      for (const bad of ['a--b/c', 'a/b.', 'a/..', 'a/b@x/../y', 'a/b@x/', 'a/b@x//y', 'a/b@.', 'a/b/c', '/a']) expect(fitsGrammar(bad)).toBe(false);
    });

    it('parses every id the grammar generates and round-trips it', () => {
      fc.assert(
        fc.property(validId, (raw) => {
          expect(fitsGrammar(raw)).toBe(true);
          expect(isRepoIdLike(raw)).toBe(true);
          const { org, name, revision: rev } = parseRepoId(raw);
          expect(rev === null ? `${org}/${name}` : `${org}/${name}@${rev}`).toBe(raw);
        }),
        { numRuns: 3000 },
      );
    });

    it('either parses an arbitrary string to a value the grammar allows or throws a 400 ApiError', () => {
      const noisy = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '.', '-', '_', '/', '@', ' ', '\n', '%', '\\', '\u0000', '\uff0e', '$'), maxLength: 24 });
      // Valid ids with one character replaced or inserted: the near misses that matter most.
      const mutated = fc
        .tuple(
          validId,
          fc.nat(),
          fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 2 }), fc.constantFrom('-', '.', '/', '@', '--', '..', '//', '/.', './', '/..', ' ', '\n', '%')),
          fc.boolean(),
        )
        .map(([raw, at, insert, replace]) => {
          const i = at % (raw.length + 1);
          return raw.slice(0, i) + insert + raw.slice(replace ? i + 1 : i);
        });
      const candidate = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), noisy, mutated);
      fc.assert(
        fc.property(candidate, (raw) => {
          let parsed;
          try {
            parsed = parseRepoId(raw);
          } catch (err) {
            expect(err).toBeInstanceOf(ApiError);
            const apiError = err as ApiError;
            expect([apiError.status, apiError.code]).toEqual([400, 'invalid_model_source']);
            expect(apiError.details).toEqual({ field: 'model_source' });
            expect(apiError.message.endsWith(HINT)).toBe(true);
            expect(fitsGrammar(raw)).toBe(false);
            return;
          }
          expect(fitsGrammar(raw)).toBe(true);
          expect(PART.test(parsed.org) && PART.test(parsed.name)).toBe(true);
          if (parsed.revision !== null) expect(REVISION.test(parsed.revision)).toBe(true);
        }),
        { numRuns: 5000 },
      );
    });
  });
});
