-- Slack workspaces (or Enterprise Grid organisations) that installed the app, and requests
-- already taken. Same change as SQLite migration 0010.
CREATE TABLE slack_installations (
    enterprise_id          TEXT NOT NULL DEFAULT '',
    team_id                TEXT NOT NULL DEFAULT '',
    is_enterprise_install  INTEGER NOT NULL DEFAULT 0,
    app_id                 TEXT,
    bot_token              TEXT NOT NULL,
    bot_id                 TEXT,
    bot_user_id            TEXT,
    bot_scopes             TEXT NOT NULL DEFAULT '',
    installer_user_id      TEXT,
    installed_at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (enterprise_id, team_id)
);

CREATE TABLE slack_requests (
    request_key  TEXT PRIMARY KEY,
    seen_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX slack_requests_seen ON slack_requests (seen_at);

-- OAuth "state" values handed out with the install link, valid for minutes and used once,
-- so any instance can finish an install another one started.
CREATE TABLE slack_oauth_states (
    state       TEXT PRIMARY KEY,
    expires_at  TIMESTAMPTZ NOT NULL
);
