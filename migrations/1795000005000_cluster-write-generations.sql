-- Up Migration

-- Group commit of cluster writes. Every change to a model's desired entry takes the next
-- generation; whoever holds the cluster lock PUTs every entry written so far, so changes that
-- arrive together land in one PUT. An entry is pending while generation > settled_generation;
-- it settles when a PUT carrying it lands (applied_config is what Ray last accepted, the
-- baseline a rejected change falls back to) or when Ray rejects it (rejected_generation and
-- rejection say so to the apply that wrote it). A removal waits as an entry with a null
-- model_config until a PUT without it lands.
-- model_config holds {llm_config, deployment}: the model's LLMConfig in the app's args and its
-- entry in the app's deployments overrides (replicas and revision marker).
CREATE SEQUENCE cluster_model_generation;

ALTER TABLE cluster_models RENAME COLUMN llm_config TO model_config;
UPDATE cluster_models SET model_config = jsonb_build_object('llm_config', model_config);
ALTER TABLE cluster_models
  ALTER COLUMN model_config DROP NOT NULL,
  ADD COLUMN generation          bigint NOT NULL DEFAULT 0,
  ADD COLUMN applied_config      jsonb,
  ADD COLUMN settled_generation  bigint NOT NULL DEFAULT 0,
  ADD COLUMN rejected_generation bigint,
  ADD COLUMN rejection           text;

-- Entries written before this migration are taken as applied.
UPDATE cluster_models SET applied_config = model_config;
-- (generation and settled_generation both start at 0: settled)

-- Down Migration

DELETE FROM cluster_models WHERE model_config IS NULL;
ALTER TABLE cluster_models
  DROP COLUMN rejection,
  DROP COLUMN rejected_generation,
  DROP COLUMN settled_generation,
  DROP COLUMN applied_config,
  DROP COLUMN generation,
  ALTER COLUMN model_config SET NOT NULL;
UPDATE cluster_models SET model_config = model_config -> 'llm_config';
ALTER TABLE cluster_models RENAME COLUMN model_config TO llm_config;
DROP SEQUENCE cluster_model_generation;
