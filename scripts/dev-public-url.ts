// The origin of the links that `npm run dev` makes outside any request (push attachment links,
// signed on PUBLIC_URL): the address wrangler dev listens on, from its flags (`--port`, `--ip`,
// `--local-protocol`) over wrangler.toml's [dev] defaults. A PUBLIC_URL in .dev.vars that is not a
// loopback address (a tunnel, a LAN name) is the developer's choice and is kept: null then.

export interface ListenDefaults {
  ip: string;
  port: string;
  protocol: string;
}

/** wrangler.toml's [dev] section. */
export const WRANGLER_DEV_DEFAULTS: ListenDefaults = { ip: "127.0.0.1", port: "8787", protocol: "http" };

const LOOPBACK_URL = /^https?:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\/?$/i;
const ANY_ADDRESS = new Set(["0.0.0.0", "::", "*"]);

/** The value of `--name v` or `--name=v` among wrangler's arguments (the last one wins, as in yargs). */
function flag(args: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  args.forEach((arg, i) => {
    if (arg === `--${name}`) value = args[i + 1];
    else if (arg.startsWith(`--${name}=`)) value = arg.slice(name.length + 3);
  });
  return value;
}

export function devPublicUrl(args: readonly string[], devVars: string, defaults: ListenDefaults = WRANGLER_DEV_DEFAULTS): string | null {
  const configured = /^PUBLIC_URL=(.*)$/m.exec(devVars)?.[1]?.trim() ?? "";
  if (configured !== "" && !LOOPBACK_URL.test(configured)) return null;
  const ip = flag(args, "ip") ?? defaults.ip;
  // Listening on every address: links go to loopback, where the developer's own clients are.
  const host = ANY_ADDRESS.has(ip) ? "127.0.0.1" : ip.includes(":") ? `[${ip}]` : ip;
  return `${flag(args, "local-protocol") ?? defaults.protocol}://${host}:${flag(args, "port") ?? defaults.port}`;
}
