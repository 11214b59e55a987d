-- A us-img track user is a US citizen or a US permanent resident (green card); scripts state which.
ALTER TABLE profiles ADD COLUMN status TEXT;
