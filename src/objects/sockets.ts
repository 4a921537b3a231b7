// What every object that holds hibernated sockets needs (Session, and Conversation for live channel sockets).

const RESERVED_CLOSE_CODES = new Set([1005, 1006, 1015]);

/** The hibernation API does not complete the closing handshake on its own. */
export function finishClose(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(RESERVED_CLOSE_CODES.has(code) ? 1000 : code, reason);
  } catch {
    // already closed
  }
}

/**
 * Disconnects and sends to closed sockets are normal in a chat server, and a client's protocol
 * violation (a frame over the runtime's 32 MiB: 1009 "Message is too large") is the client's doing:
 * neither is logged as an error, so no stranger can fill the error log at will. Other errors are.
 */
export function isBenignSocketError(err: unknown): boolean {
  const text = err instanceof Error ? err.message : String(err);
  return /network connection lost|websocket (is )?(already )?closed|can't call websocket|after close|disconnected|websocket protocol error/i.test(text);
}
