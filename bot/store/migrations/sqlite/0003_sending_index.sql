-- Recovery at start looks for digests left in 'sending'; without this index it scans every nudge.
CREATE INDEX nudges_sending ON nudges (digest, due_at) WHERE status = 'sending';
