-- /conference plan: a meeting the user will attend, turned into dated nudges (kind 'conference').
-- Numbers are per user and never reused, like contact numbers.
ALTER TABLE users ADD COLUMN conference_seq INTEGER NOT NULL DEFAULT 0;
CREATE TABLE conference_plans (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    name        TEXT NOT NULL,
    specialty   TEXT NOT NULL,
    starts_on   TEXT NOT NULL,
    days        INTEGER NOT NULL CHECK (days BETWEEN 1 AND 14),
    created_at  TEXT NOT NULL,
    UNIQUE (user_id, number)
);
CREATE INDEX conference_plans_by_user ON conference_plans (user_id, starts_on);
