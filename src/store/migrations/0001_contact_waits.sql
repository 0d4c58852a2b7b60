CREATE TABLE `contact_waits` (
	`run_id` integer NOT NULL,
	`torrent_id` integer NOT NULL,
	`event` text NOT NULL,
	`wait_s` integer NOT NULL,
	`count` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `contact_waits_key` ON `contact_waits` (`run_id`,`torrent_id`,`event`,`wait_s`);