// Which Web Push endpoints Parley will POST to. A subscription is client input: without this check it
// could make the Worker send requests to any address. Production: https on the default port, to a
// host on the allow-list. Dev (PUSH_ALLOW_LOOPBACK): also http or https on a loopback host, any port.
import type { PushConfig } from "./config";

export type EndpointCheck = { ok: true; url: URL } | { ok: false; reason: string };

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

export function hostAllowed(hostname: string, allowlist: readonly string[]): boolean {
  const host = hostname.toLowerCase();
  return allowlist.some((pattern) => {
    if (pattern.startsWith("*.")) {
      const suffix = pattern.slice(1); // ".notify.windows.com"
      return host.endsWith(suffix) && host.length > suffix.length;
    }
    return host === pattern;
  });
}

export function checkWebEndpoint(endpoint: string, config: Pick<PushConfig, "allowLoopback" | "hostAllowlist">): EndpointCheck {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { ok: false, reason: "endpoint is not a URL" };
  }
  if (url.username !== "" || url.password !== "") return { ok: false, reason: "endpoint carries credentials" };
  if (config.allowLoopback && LOOPBACK_HOSTS.has(url.hostname) && (url.protocol === "http:" || url.protocol === "https:")) {
    return { ok: true, url };
  }
  if (url.protocol !== "https:") return { ok: false, reason: `endpoint is not https (${url.protocol})` };
  if (url.port !== "") return { ok: false, reason: "endpoint uses a non-default port" };
  if (!hostAllowed(url.hostname, config.hostAllowlist)) return { ok: false, reason: `endpoint host ${url.hostname} is not on the push allow-list` };
  return { ok: true, url };
}
