-- Interactions recreated from a CSV import: shown in history, but not counted toward goals.
ALTER TABLE interactions ADD COLUMN imported INTEGER NOT NULL DEFAULT 0;
