import type { LiveSessions } from "./context";
import { inboxOf } from "../objects/stubs";

export function liveSessions(env: Env): LiveSessions {
  return {
    async signOut(organizationId, userId, deviceId) {
      await inboxOf(env, organizationId, userId).signOutSessions(userId, deviceId);
    },
  };
}
