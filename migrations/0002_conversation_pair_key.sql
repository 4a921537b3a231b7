DROP INDEX `conversations_org_pair`;--> statement-breakpoint
ALTER TABLE `conversations` ADD `pair_key` text;--> statement-breakpoint
CREATE UNIQUE INDEX `conversations_org_pair_key` ON `conversations` (`organization_id`,`pair_key`);--> statement-breakpoint
CREATE INDEX `conversations_org_name` ON `conversations` (`organization_id`,`name`);