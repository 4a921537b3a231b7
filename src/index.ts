// Worker entry: the Hono app for HTTP and WebSocket upgrades, and the Durable Object classes.
import { buildApp } from "./http/app";

export { HandlerOutbound } from "./handlers/outbound-entrypoint";
export { Conversation } from "./objects/conversation";
export { Inbox } from "./objects/inbox";
export { Gateway } from "./objects/gateway";

const app = buildApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
