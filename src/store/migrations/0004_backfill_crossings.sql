-- Databases of an older btda: each peer row becomes one session with the evidence its summary holds (its first
-- and last state, phase 'migrated'), and every crossing the old rule saw becomes a recorded fact, so counts do
-- not change on upgrade. The old rule compared with the latest run's threshold; that threshold is recorded.
UPDATE `peers` SET `low_pieces` = min(`first_pieces`, `last_pieces`) WHERE `first_pieces` IS NOT NULL;--> statement-breakpoint
INSERT INTO `observations` (`peer_row`, `run_id`, `at`, `phase`, `event`, `direction`, `encrypted`, `family`, `pieces`, `peer_id`, `client`)
  SELECT `id`, 0, `first_seen`, 'migrated', 'migrated', 'unknown', `encrypted`, CASE WHEN `address` LIKE '%:%' THEN 6 ELSE 4 END,
    `first_pieces`, `peer_id`, `client`
  FROM `peers` WHERE `first_pieces` IS NOT NULL AND `first_seen` IS NOT NULL;--> statement-breakpoint
INSERT INTO `observations` (`peer_row`, `run_id`, `at`, `phase`, `event`, `direction`, `encrypted`, `family`, `pieces`)
  SELECT `id`, 0, `last_seen`, 'migrated', 'migrated', 'unknown', `encrypted`, CASE WHEN `address` LIKE '%:%' THEN 6 ELSE 4 END, `last_pieces`
  FROM `peers` WHERE `last_pieces` IS NOT NULL AND `last_seen` IS NOT NULL AND (`last_pieces` <> `first_pieces` OR `last_seen` <> `first_seen`);--> statement-breakpoint
UPDATE `peers` SET
  `crossing_class` = 'confirmed',
  `crossed_at` = coalesce(`crossed_at`, `last_seen`),
  `crossed_pieces` = `last_pieces`,
  `crossed_threshold` = (SELECT `threshold_pieces` FROM `torrents` WHERE `torrents`.`id` = `peers`.`torrent_id`)
WHERE `first_pieces` IS NOT NULL AND (`crossed_at` IS NOT NULL OR (
  `first_pieces` < (SELECT `threshold_pieces` FROM `torrents` WHERE `torrents`.`id` = `peers`.`torrent_id`) AND
  `last_pieces` >= (SELECT `threshold_pieces` FROM `torrents` WHERE `torrents`.`id` = `peers`.`torrent_id`)));
