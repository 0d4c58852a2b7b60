ALTER TABLE `runs` ADD `suspect_rate` real;--> statement-breakpoint
ALTER TABLE `runs` ADD `shard` text;--> statement-breakpoint
ALTER TABLE `runs` ADD `origin` text;