-- The channel a platform needs to DM a user (a Discord DM channel id is stable per user).
-- Remembering it saves one API request per nudge.
CREATE TABLE dm_channels (
    user_id  INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    channel  TEXT NOT NULL
);
