import type { LiveSessions } from "../services/context";
import type { Inbox } from "./inbox";

/** Each user's Inbox is named "<organization>:<user>". */
export function inboxName(organizationId: string, userId: string): string {
  return `${organizationId}:${userId}`;
}

export function inboxOf(env: Env, organizationId: string, userId: string): DurableObjectStub<Inbox> {
  return env.INBOX.get(env.INBOX.idFromName(inboxName(organizationId, userId)));
}

export function liveSessions(env: Env): LiveSessions {
  return {
    async signOut(organizationId, userId, deviceId) {
      await inboxOf(env, organizationId, userId).signOutSessions(userId, deviceId);
    },
  };
}
