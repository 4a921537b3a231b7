import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// TEST-ONLY secrets and settings. The plugin also reads a local .dev.vars (npm run dev writes one),
// and its values win over wrangler.toml's: every value a test depends on is set here, so the suite
// runs the same on every machine (a developer's raised rate limits would fail the limit tests).
const testSecrets = {
  RATE_LIMIT_PER_SECOND: "50",
  RATE_LIMIT_BURST: "200",
  USER_RATE_LIMIT_PER_SECOND: "100",
  USER_RATE_LIMIT_BURST: "400",
  ADMIN_API_KEY: "test-admin-key",
  JWT_ACCESS_SECRET: "test-access-secret-0123456789abcdef",
  JWT_REFRESH_SECRET: "test-refresh-secret-0123456789abcdef",
  COOKIE_SECRET: "test-cookie-secret-0123456789abcdef",
  FILES_SIGNING_SECRET: "test-files-signing-secret-0123456789abcdef",
  CORS_ORIGINS: "https://app.example.test",
  // One second instead of thirty, so reuse of a rotated refresh token can be tested without waiting.
  REFRESH_REUSE_GRACE_SECONDS: "1",
  // Inboxes write their derived state behind within a second (production: 10 s): a graceful eviction
  // (evictDurableObject) waits for that timer, and tests evict often.
  INBOX_WRITE_WINDOW_SECONDS: "1",
  // Scaled as the window is (production: 1 s against 10 s), so what is told behind lands in the same windows.
  INBOX_TELL_BEHIND_MS: "100",
  // Lets the chaos test hold a Conversation's fan-out half-way, then evict objects.
  TEST_HOOKS: "1",
  // Pushes sign their attachment links on this origin (the tests' own).
  PUBLIC_URL: "http://parley.test",
  // TEST-ONLY VAPID pair (test/push checks signatures with the public key); loopback fake push services allowed.
  VAPID_PUBLIC_KEY: "BPuMAxrEoAZ1QViRqdzC4AdzHFw3nghCtT0sXxM7QpJVROjmhJCbWuDmi4gi7YdvhNArt7Kdyf3v06JNJttwtXs",
  VAPID_PRIVATE_KEY: "mpejbLu17jMKuoeD2ARKI_RgZtvDPuBrltfifJMWeu0",
  VAPID_SUBJECT: "mailto:push-test@parley.invalid",
  PUSH_ALLOW_LOOPBACK: "true",
  // Three live channel sockets per object, so a handful of sockets already spans shards.
  LIVE_SOCKETS_PER_OBJECT: "3",
  // Few Gateways, so sockets of different users share one in most tests.
  GATEWAYS_PER_LOCATION: "3",
  // Password-reset emails go to this URL, which test/ws/password-reset.test.ts intercepts (nothing listens there).
  EMAIL_API_URL: "https://email.parley.test/v1/send",
  EMAIL_API_KEY: "test-email-key",
  EMAIL_FROM: "Parley <no-reply@parley.test>",
  // The API document and its viewer (tests of the disabled default override it per request).
  DOCS_ENABLED: "true",
};

export default defineConfig(async () => {
  const migrations = await readD1Migrations("./migrations");
  const worker = (overrides: Record<string, string>) =>
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: { bindings: { ...testSecrets, ...overrides, TEST_MIGRATIONS: migrations } },
    });
  const setupFiles = ["./test/setup/apply-migrations.ts", "./test/setup/close-sockets.ts"];
  // Suites that send hundreds of frames per user as fast as answers come back (the fuzzer, the
  // authorization matrix): the production limits (their own tests run in the "workers" project)
  // would answer some with 429, and a 429 proves nothing about what those suites check.
  const raisedLimits = {
    RATE_LIMIT_PER_SECOND: "100000",
    RATE_LIMIT_BURST: "100000",
    USER_RATE_LIMIT_PER_SECOND: "100000",
    USER_RATE_LIMIT_BURST: "100000",
  };
  return {
    test: {
      projects: [
        {
          // message_summary / message_tone reach this OpenAI-compatible endpoint, which test/ai intercepts
          // (nothing listens there); the other projects have no AI provider.
          plugins: [worker({ AI_API_URL: "https://ai.parley.test/v1/chat/completions", AI_API_KEY: "test-ai-key", AI_MODEL: "test-model", AI_TIMEOUT_SECONDS: "1" })],
          test: {
            name: "workers",
            include: ["test/**/*.test.ts"],
            exclude: ["test/fuzz/**", "test/authz/**", "test/handlers/worker-loader/**", "test/ai/no-provider.test.ts"],
            setupFiles,
          },
        },
        {
          // The AI requests with no provider configured, as `npm run dev` runs.
          plugins: [worker({})],
          test: { name: "no-ai", include: ["test/ai/no-provider.test.ts"], setupFiles },
        },
        {
          // The matrix: one victim answers ~20 requests per case, and every one must succeed.
          plugins: [worker(raisedLimits)],
          test: { name: "authz", include: ["test/authz/**/*.test.ts"], setupFiles },
        },
        {
          // Conversation handlers on the second engine, selected by its var as a deployment would.
          plugins: [worker({ HANDLER_ENGINE: "worker-loader" })],
          test: { name: "worker-loader", include: ["test/handlers/worker-loader/**/*.test.ts"], setupFiles },
        },
        // Measurements that print and check nothing (docs/handlers.md): only with PARLEY_MEASURE=1.
        ...(process.env.PARLEY_MEASURE === "1"
          ? [{ plugins: [worker({})], test: { name: "measure", include: ["bench/handlers/**/*.test.ts"], setupFiles, testTimeout: 300_000 } }]
          : []),
        {
          // The fuzzer sends 1,000+ frames on one socket as fast as answers come back.
          plugins: [
            worker({
              ...raisedLimits,
              // Fuzzed user_send_otp calls reach a closed loopback port (refused at once), never the network.
              EMAIL_API_URL: "http://127.0.0.1:9/send",
            }),
          ],
          test: { name: "fuzz", include: ["test/fuzz/**/*.test.ts"], setupFiles },
        },
      ],
    },
  };
});
