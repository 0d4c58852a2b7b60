-- Databases of an older btda: an address:port that answered before was attempted before, so a later run's
-- first contact with it is counted as `later`, not as a first contact ever.
UPDATE `peers` SET `attempted_at` = `first_seen` WHERE `attempted_at` IS NULL AND `first_seen` IS NOT NULL;
