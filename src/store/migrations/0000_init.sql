CREATE TABLE `outcomes` (
	`run_id` integer NOT NULL,
	`torrent_id` integer NOT NULL,
	`event` text NOT NULL,
	`reason` text NOT NULL,
	`count` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `outcomes_key` ON `outcomes` (`run_id`,`torrent_id`,`event`,`reason`);--> statement-breakpoint
CREATE TABLE `peers` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`torrent_id` integer NOT NULL,
	`address` text NOT NULL,
	`address_key` text NOT NULL,
	`ip` text,
	`port` integer NOT NULL,
	`peer_id` text,
	`client` text,
	`client_version` text,
	`listen_port` integer,
	`first_pieces` integer,
	`first_seen` text,
	`last_pieces` integer,
	`last_seen` text,
	`crossed_at` text,
	`visits` integer DEFAULT 0 NOT NULL,
	`max_speed` real,
	`sources` text DEFAULT '' NOT NULL,
	`country` text,
	`continent` text,
	`city` text,
	`discovered_at` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `peers_torrent_address_port` ON `peers` (`torrent_id`,`address_key`,`port`);--> statement-breakpoint
CREATE INDEX `peers_crossed_at` ON `peers` (`crossed_at`);--> statement-breakpoint
CREATE TABLE `requests` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`torrent_id` integer,
	`kind` text NOT NULL,
	`url` text,
	`started_at` text NOT NULL,
	`duration_ms` integer NOT NULL,
	`received` integer DEFAULT 0 NOT NULL,
	`new` integer DEFAULT 0 NOT NULL,
	`duplicates` integer DEFAULT 0 NOT NULL,
	`error` text
);
--> statement-breakpoint
CREATE INDEX `requests_run` ON `requests` (`run_id`,`kind`);--> statement-breakpoint
CREATE TABLE `runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`started_at` text NOT NULL,
	`ended_at` text,
	`version` text NOT NULL,
	`args` text NOT NULL,
	`host` text NOT NULL,
	`exit_reason` text,
	`threshold` real NOT NULL
);
--> statement-breakpoint
CREATE TABLE `scrapes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`torrent_id` integer NOT NULL,
	`tracker` text NOT NULL,
	`at` text NOT NULL,
	`seeders` integer,
	`leechers` integer,
	`downloaded` integer
);
--> statement-breakpoint
CREATE INDEX `scrapes_torrent_at` ON `scrapes` (`torrent_id`,`at`);--> statement-breakpoint
CREATE TABLE `statistics` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`run_id` integer NOT NULL,
	`at` text NOT NULL,
	`queue` integer NOT NULL,
	`in_flight` integer NOT NULL,
	`evaluations` integer NOT NULL,
	`successes` integer DEFAULT 0 NOT NULL,
	`incoming` integer DEFAULT 0 NOT NULL,
	`peers_known` integer DEFAULT 0 NOT NULL,
	`rss_mb` real NOT NULL,
	`load_average` real
);
--> statement-breakpoint
CREATE TABLE `torrents` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`info_hash` text NOT NULL,
	`info_hash_v2` text,
	`name` text,
	`set_label` text,
	`pieces` integer,
	`piece_size` integer,
	`total_size` integer,
	`trackers` text DEFAULT '[]' NOT NULL,
	`source` text NOT NULL,
	`added_at` text NOT NULL,
	`threshold_pieces` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `torrents_info_hash` ON `torrents` (`info_hash`);--> statement-breakpoint
CREATE VIEW `confirmed_downloads` AS select p.id as "peer_row", p.torrent_id as "torrent_id", t.info_hash as "info_hash", t.name as "name", t.set_label as "set_label", p.address as "address", p.client as "client", p.country as "country", p.first_pieces as "first_pieces", p.first_seen as "first_seen", p.last_pieces as "last_pieces", p.last_seen as "last_seen", coalesce(p.crossed_at, p.last_seen) as "crossed_at", t.threshold_pieces as "threshold_pieces", t.pieces as "pieces" from peers p join torrents t on t.id = p.torrent_id where t.threshold_pieces is not null and p.first_pieces < t.threshold_pieces and p.last_pieces >= t.threshold_pieces;--> statement-breakpoint
CREATE VIEW `hourly_confirmed` AS select torrent_id as "torrent_id", info_hash as "info_hash", strftime('%Y-%m-%d %H:00', crossed_at) as "hour", count(*) as "confirmed" from confirmed_downloads group by torrent_id, info_hash, strftime('%Y-%m-%d %H:00', crossed_at);