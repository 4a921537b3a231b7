// Outgoing email behind one interface. Production posts JSON to an HTTP email API; `npm run dev`
// (no API configured, EMAIL_DEV_CONSOLE=true) prints the message to the dev console instead.
//
// Vars:    EMAIL_API_URL (the API's endpoint; https in production), EMAIL_FROM (optional sender address,
//          sent as "from"), EMAIL_DEV_CONSOLE ("true": print emails to the console when no API is set; dev only).
// Secret:  EMAIL_API_KEY (sent as "Authorization: Bearer <key>"; `wrangler secret put EMAIL_API_KEY`).

export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface EmailSender {
  /** Resolves once the provider accepted the message; rejects otherwise. */
  send(message: EmailMessage): Promise<void>;
}

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export interface EmailApi {
  url: string;
  key: string | null;
  from: string | null;
}

export interface EmailSettings {
  api: EmailApi | null;
  devConsole: boolean;
}

function setting(env: object, name: string): string | null {
  const value: unknown = Reflect.get(env, name);
  return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
}

/** The email settings of a Worker env (the secret is not in the generated Env type, so read by name). */
export function emailSettingsOf(env: object): EmailSettings {
  const url = setting(env, "EMAIL_API_URL");
  return {
    api: url === null ? null : { url, key: setting(env, "EMAIL_API_KEY"), from: setting(env, "EMAIL_FROM") },
    devConsole: setting(env, "EMAIL_DEV_CONSOLE")?.toLowerCase() === "true",
  };
}

/**
 * How long the email API may take: the socket answers its requests in order, so a provider that
 * never answers would hold every later request of the socket behind user_send_otp.
 */
export const EMAIL_TIMEOUT_MS = 10_000;

/**
 * One generic shape: `POST <url>` with `{"from"?, "to", "subject", "text"}` and the key as a bearer
 * token. Resend's /emails endpoint takes exactly this (with EMAIL_FROM set).
 */
export function httpEmailSender(api: EmailApi, fetch: Fetch, timeoutMs = EMAIL_TIMEOUT_MS): EmailSender {
  return {
    async send(message) {
      const headers: Record<string, string> = { "Content-Type": "application/json" };
      if (api.key !== null) headers.Authorization = `Bearer ${api.key}`;
      const body = JSON.stringify({ ...(api.from !== null ? { from: api.from } : {}), to: message.to, subject: message.subject, text: message.text });
      const res = await fetch(api.url, { method: "POST", headers, body, signal: AbortSignal.timeout(timeoutMs) });
      // The provider's answer is not logged: it may echo the message, and with it the code.
      await res.body?.cancel();
      if (!res.ok) throw new Error(`email API answered ${res.status}`);
    },
  };
}

/** DEV-ONLY: the message on the dev console, so password reset works on one machine without an email provider. */
export function consoleEmailSender(log: (line: string) => void = console.log): EmailSender {
  return {
    async send(message) {
      log(`[DEV-ONLY email, not sent] to: ${message.to}\nsubject: ${message.subject}\n\n${message.text}`);
    },
  };
}

/** The configured sender; null when neither an API nor the dev console is configured. */
export function emailSenderFor(settings: EmailSettings, fetch: Fetch): EmailSender | null {
  if (settings.api !== null) return httpEmailSender(settings.api, fetch);
  return settings.devConsole ? consoleEmailSender() : null;
}
