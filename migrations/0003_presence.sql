CREATE TABLE `presence` (
	`user_id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`online_since` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `presence_org_since` ON `presence` (`organization_id`,`online_since`);