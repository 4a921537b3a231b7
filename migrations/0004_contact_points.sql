CREATE TABLE `contact_points` (
	`contact_id` text NOT NULL,
	`organization_id` text NOT NULL,
	`kind` text NOT NULL,
	`idx` integer NOT NULL,
	`key` text NOT NULL,
	PRIMARY KEY(`contact_id`, `kind`, `idx`)
);
--> statement-breakpoint
CREATE INDEX `contact_points_org_key` ON `contact_points` (`organization_id`,`kind`,`key`);--> statement-breakpoint
CREATE INDEX `contacts_user_id` ON `contacts` (`user_id`,`id`);