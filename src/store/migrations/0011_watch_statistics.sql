ALTER TABLE `statistics` ADD `watching` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `statistics` ADD `watched` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `statistics` ADD `watch_crossed` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `statistics` ADD `watch_left` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `statistics` ADD `watch_full` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `statistics` ADD `watch_full_s` integer DEFAULT 0 NOT NULL;