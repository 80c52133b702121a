-- Up Migration

CREATE TABLE users (
  user_id     text PRIMARY KEY,
  is_admin    boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Tokens are random secrets; only their SHA-256 is stored.
CREATE TABLE api_tokens (
  token_id    text PRIMARY KEY,
  user_id     text NOT NULL REFERENCES users (user_id),
  token_hash  bytea NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- The read model of each model, written by the model's workflow (through activities) and
-- created by the API when a suffix is first used.
CREATE TABLE models (
  model_key        text PRIMARY KEY,
  user_id          text NOT NULL REFERENCES users (user_id),
  model_id_suffix  text NOT NULL,
  model_id_prefix  text NOT NULL,
  state            text NOT NULL,
  revision         integer NOT NULL DEFAULT 0,
  spec             jsonb NOT NULL,
  error_summary    text,
  -- Highest event sequence applied to this row: projections only move forward.
  last_event_seq   integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz
);
-- One live model per user and suffix; a deleted model frees its suffix.
CREATE UNIQUE INDEX models_live_suffix ON models (user_id, model_id_suffix) WHERE deleted_at IS NULL;
CREATE INDEX models_user ON models (user_id, created_at);

-- Every lifecycle event. (model_key, seq) is assigned by the workflow, so a retried insert is a no-op.
CREATE TABLE model_events (
  model_key   text NOT NULL REFERENCES models (model_key),
  seq         integer NOT NULL,
  event_type  text NOT NULL,
  payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_key, seq)
);

-- What each cluster should serve: one rendered LLMConfig per model. The cluster writer sends
-- exactly this set (plus apps it does not manage) in every PUT.
CREATE TABLE cluster_models (
  cluster_id  text NOT NULL,
  model_key   text NOT NULL REFERENCES models (model_key),
  llm_config  jsonb NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (cluster_id, model_key)
);

-- Down Migration

DROP TABLE cluster_models;
DROP TABLE model_events;
DROP TABLE models;
DROP TABLE api_tokens;
DROP TABLE users;
