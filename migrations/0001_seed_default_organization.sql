-- The organization SAMA clients use out of the box (VITE_ORGANIZATION_ID=default), and its bot user,
-- the author of conversation-handler replies. The bot has no password: it cannot log in.
INSERT OR IGNORE INTO organizations (id, name, created_at, updated_at)
VALUES ('default', 'default', strftime('%s', 'now') * 1000, strftime('%s', 'now') * 1000);
--> statement-breakpoint
INSERT OR IGNORE INTO users (id, organization_id, login, login_key, password_hash, recent_activity, is_bot, search_text, created_at, updated_at)
VALUES ('000000000000000000000b07', 'default', 'server-chat-bot', 'server-chat-bot', NULL, strftime('%s', 'now'), 1, 'server-chat-bot', strftime('%s', 'now') * 1000, strftime('%s', 'now') * 1000);
