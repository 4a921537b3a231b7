-- Password reset by one-time code (user_send_otp / user_reset_password). Written by hand (see src/db/schema.ts).
CREATE TABLE `password_reset_codes` (
	`user_id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`code_hash` text,
	`expires_at` integer NOT NULL,
	`attempts` integer NOT NULL,
	`sent_at` integer NOT NULL,
	`window_start` integer NOT NULL,
	`window_sends` integer NOT NULL
);
