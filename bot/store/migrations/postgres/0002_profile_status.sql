-- A us-img track user is a US citizen or a US permanent resident (green card); scripts state which.
-- Same change as SQLite migration 0007.
ALTER TABLE profiles ADD COLUMN status TEXT;
