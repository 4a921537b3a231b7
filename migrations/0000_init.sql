CREATE TABLE `auth_failures` (
	`key` text PRIMARY KEY NOT NULL,
	`failures` integer NOT NULL,
	`window_start` integer NOT NULL,
	`locked_until` integer
);
--> statement-breakpoint
CREATE TABLE `blocked_users` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`user_id` text NOT NULL,
	`blocked_user_id` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `blocked_users_pair` ON `blocked_users` (`user_id`,`blocked_user_id`);--> statement-breakpoint
CREATE INDEX `blocked_users_blocked` ON `blocked_users` (`blocked_user_id`);--> statement-breakpoint
CREATE TABLE `contacts` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`user_id` text NOT NULL,
	`first_name` text,
	`last_name` text,
	`company` text,
	`email` text,
	`phone` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `contacts_user_updated` ON `contacts` (`user_id`,`updated_at`);--> statement-breakpoint
CREATE TABLE `conversation_handlers` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`content` text NOT NULL,
	`updated_by` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `conversation_handlers_conversation_id_unique` ON `conversation_handlers` (`conversation_id`);--> statement-breakpoint
CREATE TABLE `conversation_participants` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`user_id` text NOT NULL,
	`role` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `participants_conversation_user` ON `conversation_participants` (`conversation_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `participants_user` ON `conversation_participants` (`user_id`);--> statement-breakpoint
CREATE TABLE `conversations` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`name` text,
	`description` text,
	`type` text NOT NULL,
	`owner_id` text NOT NULL,
	`opponent_id` text,
	`image_object` text,
	`is_encrypted` integer,
	`subscribers_count` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `conversations_org_pair` ON `conversations` (`organization_id`,`type`,`owner_id`,`opponent_id`);--> statement-breakpoint
CREATE INDEX `conversations_org_updated` ON `conversations` (`organization_id`,`updated_at`);--> statement-breakpoint
CREATE TABLE `files` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`user_id` text NOT NULL,
	`name` text NOT NULL,
	`size` integer NOT NULL,
	`content_type` text NOT NULL,
	`object_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `files_object_id` ON `files` (`object_id`);--> statement-breakpoint
CREATE TABLE `message_reactions` (
	`cid` text NOT NULL,
	`mid` text NOT NULL,
	`user_id` text NOT NULL,
	`reaction` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`mid`, `user_id`, `reaction`)
);
--> statement-breakpoint
CREATE TABLE `message_statuses` (
	`cid` text NOT NULL,
	`mid` text NOT NULL,
	`user_id` text NOT NULL,
	`status` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`mid`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `message_statuses_cid_user` ON `message_statuses` (`cid`,`user_id`);--> statement-breakpoint
CREATE TABLE `messages` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`cid` text NOT NULL,
	`seq` integer NOT NULL,
	`from_id` text NOT NULL,
	`body` text,
	`attachments` text,
	`x` text,
	`t` integer NOT NULL,
	`deleted_for` text,
	`replied_message_id` text,
	`forwarded_message_id` text,
	`encrypted_message_type` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_cid_seq` ON `messages` (`cid`,`seq`);--> statement-breakpoint
CREATE INDEX `messages_cid_updated` ON `messages` (`cid`,`updated_at`);--> statement-breakpoint
CREATE TABLE `organizations` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `organizations_name_unique` ON `organizations` (`name`);--> statement-breakpoint
CREATE TABLE `push_events` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`user_id` text NOT NULL,
	`user_ids` text NOT NULL,
	`message` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `push_subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`user_id` text NOT NULL,
	`platform` text NOT NULL,
	`web_endpoint` text,
	`web_key_auth` text,
	`web_key_p256dh` text,
	`device_udid` text NOT NULL,
	`device_token` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `push_subscriptions_user_udid` ON `push_subscriptions` (`user_id`,`device_udid`);--> statement-breakpoint
CREATE TABLE `user_tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`user_id` text NOT NULL,
	`device_id` text NOT NULL,
	`type` text NOT NULL,
	`token_hash` text NOT NULL,
	`replaced_at` integer,
	`expires_at` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `user_tokens_hash` ON `user_tokens` (`token_hash`);--> statement-breakpoint
CREATE INDEX `user_tokens_user_device` ON `user_tokens` (`user_id`,`device_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`login` text NOT NULL,
	`login_key` text NOT NULL,
	`email` text,
	`email_key` text,
	`phone` text,
	`phone_key` text,
	`first_name` text,
	`last_name` text,
	`password_hash` text,
	`avatar_object` text,
	`recent_activity` integer NOT NULL,
	`device_id` text,
	`is_bot` integer DEFAULT false NOT NULL,
	`search_text` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`organization_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_org_login_key` ON `users` (`organization_id`,`login_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `users_org_email_key` ON `users` (`organization_id`,`email_key`);--> statement-breakpoint
CREATE UNIQUE INDEX `users_org_phone_key` ON `users` (`organization_id`,`phone_key`);--> statement-breakpoint
CREATE INDEX `users_org_updated` ON `users` (`organization_id`,`updated_at`);