-- A file is visible to its uploader and to the participants of the conversations in which a message
-- carrying it was posted (src/services/files.ts). The Conversation's outbox writes a row when it
-- copies such a message to D1.
CREATE TABLE `file_grants` (
	`organization_id` text NOT NULL,
	`object_id` text NOT NULL,
	`conversation_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`object_id`, `conversation_id`)
);
--> statement-breakpoint
-- Messages copied before this table existed: the uploader's own posts grant their conversation.
INSERT OR IGNORE INTO `file_grants` (`organization_id`, `object_id`, `conversation_id`, `created_at`)
SELECT f.`organization_id`, f.`object_id`, m.`cid`, m.`created_at`
FROM `messages` m, json_each(m.`attachments`) a
JOIN `files` f ON f.`object_id` = json_extract(a.value, '$.file_id') AND f.`organization_id` = m.`organization_id`
WHERE m.`attachments` IS NOT NULL AND f.`user_id` = m.`from_id`;
