-- Every step after a claim (sent, retry, skipped, handed back) finds its rows by digest id
-- among the rows in 'sending'; without this index each such statement scans all of them,
-- which grows with a large claim or a taken-over one. (SQLite dropped its 0003 index in 0005.)
CREATE INDEX nudges_sending_digest ON nudges (digest) WHERE status = 'sending';
