-- Leased delivery: an instance claims due nudges with an owner and an expiry, so several
-- instances never send the same digest, and a dead instance's claims are taken over.
ALTER TABLE nudges ADD COLUMN lease_owner TEXT;
ALTER TABLE nudges ADD COLUMN lease_until TEXT;
-- Rows left in 'sending' by an older release carry no lease: treat it as long expired.
UPDATE nudges SET lease_until = '1970-01-01 00:00:00' WHERE status = 'sending';
DROP INDEX nudges_sending;
CREATE INDEX nudges_leased ON nudges (lease_until) WHERE status = 'sending';
-- Per-user contact numbers come from one guarded UPDATE ... RETURNING, never from MAX(number) + 1.
ALTER TABLE users ADD COLUMN contact_seq INTEGER NOT NULL DEFAULT 0;
UPDATE users SET contact_seq = COALESCE((SELECT MAX(number) FROM contacts WHERE contacts.user_id = users.id), 0);
-- Every command takes its notices: find them without a scan.
CREATE INDEX notices_by_user ON notices (user_id);
