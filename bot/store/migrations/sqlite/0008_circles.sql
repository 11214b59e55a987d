-- Circles: peer accountability programs in community channels (issue 10).
-- A community's own time zone (the default for its programs).
ALTER TABLE communities ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';

CREATE TABLE circle_programs (
    id            INTEGER PRIMARY KEY,
    platform      TEXT NOT NULL,
    community_id  TEXT NOT NULL,
    channel       TEXT NOT NULL,
    community_name TEXT,
    channel_name  TEXT,
    post_day      INTEGER NOT NULL,          -- 0 = Monday: the check-in post
    post_time     TEXT NOT NULL,             -- HH:MM local
    close_day     INTEGER NOT NULL,          -- the digest, same week
    timezone      TEXT NOT NULL,
    pairing_weeks INTEGER NOT NULL DEFAULT 0, -- 0 = no buddy pairing
    affinity      TEXT NOT NULL DEFAULT 'same',
    paused        INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    UNIQUE (platform, community_id, channel)
);

CREATE TABLE circle_members (
    id            INTEGER PRIMARY KEY,
    program_id    INTEGER NOT NULL REFERENCES circle_programs(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    visibility    TEXT NOT NULL DEFAULT 'counts',
    reminders     INTEGER NOT NULL DEFAULT 1,
    missed_rounds INTEGER NOT NULL DEFAULT 0,
    paused        INTEGER NOT NULL DEFAULT 0,
    skip_period   TEXT,
    joined_at     TEXT NOT NULL,
    UNIQUE (program_id, user_id)
);
CREATE INDEX circle_members_by_user ON circle_members (user_id);

CREATE TABLE circle_checkins (
    program_id    INTEGER NOT NULL REFERENCES circle_programs(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    week          TEXT NOT NULL,             -- ISO week, 2026-W48
    emails        INTEGER NOT NULL,
    contacts      INTEGER NOT NULL,
    followups     INTEGER NOT NULL,
    conversations INTEGER NOT NULL,
    win           TEXT,
    blocker       TEXT,
    goal          TEXT,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (program_id, user_id, week)
);
CREATE INDEX circle_checkins_by_week ON circle_checkins (program_id, week);

CREATE TABLE circle_rounds (
    id            INTEGER PRIMARY KEY,
    program_id    INTEGER NOT NULL REFERENCES circle_programs(id) ON DELETE CASCADE,
    period        TEXT NOT NULL,             -- ISO week the round starts
    starts_at     TEXT NOT NULL,
    ends_at       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    UNIQUE (program_id, period)
);

CREATE TABLE circle_groups (
    id            INTEGER PRIMARY KEY,
    round_id      INTEGER NOT NULL REFERENCES circle_rounds(id) ON DELETE CASCADE
);

-- One row per member of a group; the "did you meet?" answer lives here.
CREATE TABLE circle_group_members (
    group_id      INTEGER NOT NULL REFERENCES circle_groups(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    answer        TEXT,                      -- yes | not-yet | no
    answered_at   TEXT,
    PRIMARY KEY (group_id, user_id)
);

CREATE TABLE circle_blocks (
    program_id    INTEGER NOT NULL REFERENCES circle_programs(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    blocked_user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (program_id, user_id, blocked_user_id)
);

CREATE TABLE mentor_offers (
    program_id    INTEGER NOT NULL REFERENCES circle_programs(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    stage         TEXT NOT NULL,             -- matched-img | resident | senior
    capacity      INTEGER NOT NULL,
    specialty     TEXT,
    track         TEXT,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (program_id, user_id)
);

CREATE TABLE mentor_requests (
    program_id    INTEGER NOT NULL REFERENCES circle_programs(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (program_id, user_id)
);

CREATE TABLE mentor_matches (
    id            INTEGER PRIMARY KEY,
    program_id    INTEGER NOT NULL REFERENCES circle_programs(id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,   -- the mentee
    mentor_user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    started_at    TEXT NOT NULL,
    ended_at      TEXT
);
CREATE UNIQUE INDEX mentor_matches_open ON mentor_matches (program_id, user_id) WHERE ended_at IS NULL;

-- What a program owes its channel: each (program, kind, period) runs once, claimed under a lease.
CREATE TABLE circle_posts (
    id            INTEGER PRIMARY KEY,
    program_id    INTEGER NOT NULL REFERENCES circle_programs(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    period        TEXT NOT NULL,
    due_at        TEXT NOT NULL,
    expires_at    TEXT NOT NULL,             -- no longer useful after this: skipped, not posted
    status        TEXT NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    lease_owner   TEXT,
    lease_until   TEXT,
    late          INTEGER NOT NULL DEFAULT 0,
    sent_at       TEXT,
    UNIQUE (program_id, kind, period)
);
CREATE INDEX circle_posts_pending ON circle_posts (due_at) WHERE status = 'pending';
CREATE INDEX circle_posts_leased ON circle_posts (lease_until) WHERE status = 'sending';
