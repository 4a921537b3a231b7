-- A conversation handler that failed too many times in a row is switched off (docs/handlers.md);
-- saving it again (conversation_handler_create) switches it back on.
ALTER TABLE `conversation_handlers` ADD `disabled_at` integer;
