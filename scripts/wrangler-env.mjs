// What every `npm run dev` step passes to wrangler: offline (no metrics, no Cloudflare lookups) and
// quiet. The config's `send_metrics` is read too late, hence the environment.
export const OFFLINE_WRANGLER_ENV = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
};
