-- Users are platform accounts. On Slack the account is "TEAM:USER".
CREATE TABLE users (
    id           INTEGER PRIMARY KEY,
    platform     TEXT NOT NULL,
    account      TEXT NOT NULL,
    display_name TEXT,
    created_at   TEXT NOT NULL,
    UNIQUE (platform, account)
);

CREATE TABLE profiles (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT,
    country      TEXT,
    school       TEXT,
    specialty    TEXT,
    track        TEXT,
    visa         TEXT,
    eras         TEXT,
    timezone     TEXT NOT NULL DEFAULT 'UTC',
    interests    TEXT,
    role         TEXT,
    quiet_start  TEXT NOT NULL DEFAULT '21:00',
    quiet_end    TEXT NOT NULL DEFAULT '08:00',
    nudges_paused_until TEXT,
    updated_at   TEXT NOT NULL
);

CREATE TABLE contacts (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    number       INTEGER NOT NULL,
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    role         TEXT NOT NULL,
    specialty    TEXT,
    institution  TEXT,
    email        TEXT,
    how_met      TEXT NOT NULL,
    met_on       TEXT,
    notes        TEXT,
    tags         TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL DEFAULT 'active',
    last_contact_on    TEXT,
    next_followup_on   TEXT,
    followup_situation TEXT,
    followup_script    TEXT,
    created_at   TEXT NOT NULL,
    UNIQUE (user_id, number)
);
CREATE INDEX contacts_by_user_name ON contacts (user_id, name_key);
CREATE INDEX contacts_by_user_followup ON contacts (user_id, next_followup_on);

CREATE TABLE interactions (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    occurred_on TEXT NOT NULL,
    note        TEXT,
    created_at  TEXT NOT NULL
);
CREATE INDEX interactions_by_contact ON interactions (contact_id, occurred_on);
CREATE INDEX interactions_by_user_day ON interactions (user_id, occurred_on);

CREATE TABLE goals (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    metric  TEXT NOT NULL,
    period  TEXT NOT NULL,
    count   INTEGER NOT NULL,
    PRIMARY KEY (user_id, metric, period)
);

-- What the bot owes each user. The scheduler only ever asks for the earliest
-- deliver_at; it never holds one job per row.
CREATE TABLE nudges (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    ref         TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    deliver_at  TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    digest      TEXT,
    sent_at     TEXT
);
CREATE UNIQUE INDEX nudges_open_key ON nudges (user_id, kind, ref) WHERE status IN ('pending', 'sending');
CREATE INDEX nudges_pending_by_time ON nudges (deliver_at) WHERE status = 'pending';
CREATE INDEX nudges_by_user ON nudges (user_id, status);

-- Messages for a user that could not be delivered, shown on their next command.
CREATE TABLE notices (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    message    TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Community (server / workspace) settings.
CREATE TABLE communities (
    platform     TEXT NOT NULL,
    community_id TEXT NOT NULL,
    accountability_channel TEXT,
    settings     TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (platform, community_id)
);
