-- Slack workspaces (or Enterprise Grid organisations) that installed the app through OAuth,
-- with the bot token each granted. An org-wide install has team_id ''; a workspace install
-- outside Enterprise Grid has enterprise_id ''.
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
    installed_at           TEXT NOT NULL,
    PRIMARY KEY (enterprise_id, team_id)
);

-- Slack requests already taken (trigger id, event id): a request Slack sends again after a slow
-- ack is recognised by any instance and changes nothing twice. Rows older than a day are pruned.
CREATE TABLE slack_requests (
    request_key  TEXT PRIMARY KEY,
    seen_at      TEXT NOT NULL
);
CREATE INDEX slack_requests_seen ON slack_requests (seen_at);

-- OAuth "state" values handed out with the install link, valid for minutes and used once,
-- so any instance can finish an install another one started.
CREATE TABLE slack_oauth_states (
    state       TEXT PRIMARY KEY,
    expires_at  TEXT NOT NULL
);
