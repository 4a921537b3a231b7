-- E2EE device key bundles and one-time pre-keys (device_register, request_keys, …). Written by hand (see src/db/schema.ts).
CREATE TABLE `encrypted_devices` (
	`user_id` text NOT NULL,
	`device_id` text NOT NULL,
	`organization_id` text NOT NULL,
	`identity_key` text NOT NULL,
	`signed_key` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`user_id`, `device_id`)
);
--> statement-breakpoint
CREATE INDEX `encrypted_devices_expires` ON `encrypted_devices` (`expires_at`);--> statement-breakpoint
CREATE TABLE `encrypted_pre_keys` (
	`id` integer PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`device_id` text NOT NULL,
	`key_id` text,
	`pre_key` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `encrypted_pre_keys_device` ON `encrypted_pre_keys` (`user_id`,`device_id`,`id`);
