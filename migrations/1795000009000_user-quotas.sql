-- Up Migration
-- Each user's share of the cluster, set by an admin; a user without a row has the configured default.
-- A null limit is no limit.
CREATE TABLE user_quotas (
  user_id     text PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
  max_gpus    integer CHECK (max_gpus >= 0),
  max_models  integer CHECK (max_models >= 0),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE user_quotas;
