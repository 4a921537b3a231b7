// @parley/client: a typed client for Parley, for browsers and Node ≥ 22.
export { ParleyClient, ParleyError, openWebSocket } from "./client";
export type { Ask, ClientEvents, ClientOptions, ConnectionStatus, ListedMessage, Message, Params, PendingSend, Receipt, Reply, ServerPackets, SocketLike, User } from "./client";
export type { RequestName, Requests } from "../../src/protocol/wire";
export { backoffDelay, type BackoffOptions } from "./backoff";
export { memoryStorage, webStorage, type KeyValueStorage, type WebStorage } from "./storage";
