CREATE TABLE `meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `observations` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`peer_row` integer NOT NULL,
	`run_id` integer NOT NULL,
	`at` text NOT NULL,
	`phase` text NOT NULL,
	`event` text NOT NULL,
	`direction` text NOT NULL,
	`encrypted` integer DEFAULT 0 NOT NULL,
	`family` integer NOT NULL,
	`pieces` integer NOT NULL,
	`peer_id` text,
	`client` text,
	`upload_only` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `observations_peer` ON `observations` (`peer_row`,`id`);--> statement-breakpoint
CREATE INDEX `observations_run` ON `observations` (`run_id`);--> statement-breakpoint
DROP INDEX `peers_torrent_address_port`;--> statement-breakpoint
ALTER TABLE `peers` ADD `low_pieces` integer;--> statement-breakpoint
ALTER TABLE `peers` ADD `crossed_pieces` integer;--> statement-breakpoint
ALTER TABLE `peers` ADD `crossed_threshold` integer;--> statement-breakpoint
ALTER TABLE `peers` ADD `crossing_class` text;--> statement-breakpoint
ALTER TABLE `peers` ADD `suspect_reason` text;--> statement-breakpoint
ALTER TABLE `peers` ADD `crossed_observation` integer;--> statement-breakpoint
ALTER TABLE `peers` ADD `restart_of` integer;--> statement-breakpoint
ALTER TABLE `peers` ADD `latest` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `peers_torrent_address_port_latest` ON `peers` (`torrent_id`,`address_key`,`port`) WHERE latest = 1;--> statement-breakpoint
CREATE INDEX `peers_torrent_peer_id` ON `peers` (`torrent_id`,`peer_id`);--> statement-breakpoint
DROP VIEW `confirmed_downloads`;--> statement-breakpoint
CREATE VIEW `crossings` AS select p.id as "peer_row", p.torrent_id as "torrent_id", t.info_hash as "info_hash", t.name as "name", t.set_label as "set_label", p.address as "address", p.client as "client", p.country as "country", p.first_pieces as "first_pieces", p.first_seen as "first_seen", p.last_pieces as "last_pieces", p.last_seen as "last_seen", p.crossed_at as "crossed_at", p.crossed_pieces as "crossed_pieces", p.crossed_threshold as "threshold_pieces", t.pieces as "pieces", p.crossing_class as "crossing_class", p.suspect_reason as "suspect_reason", p.restart_of as "restart_of" from peers p join torrents t on t.id = p.torrent_id where p.crossing_class is not null;--> statement-breakpoint
CREATE VIEW `confirmed_downloads` AS select peer_row as "peer_row", torrent_id as "torrent_id", info_hash as "info_hash", name as "name", set_label as "set_label", address as "address", client as "client", country as "country", first_pieces as "first_pieces", first_seen as "first_seen", last_pieces as "last_pieces", last_seen as "last_seen", crossed_at as "crossed_at", crossed_pieces as "crossed_pieces", threshold_pieces as "threshold_pieces", pieces as "pieces" from crossings where crossing_class = 'confirmed';