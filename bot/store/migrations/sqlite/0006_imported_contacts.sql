-- Contacts created by a CSV import: tracked as usual, but not counted as new contacts toward goals.
ALTER TABLE contacts ADD COLUMN imported INTEGER NOT NULL DEFAULT 0;
