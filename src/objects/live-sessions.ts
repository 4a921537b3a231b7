import type { LiveSessions } from "../services/context";
import { inboxOf } from "./stubs";

export function liveSessions(env: Env): LiveSessions {
  return {
    async signOut(organizationId, userId, deviceId) {
      await inboxOf(env, organizationId, userId).signOutSessions(userId, deviceId);
    },
  };
}
