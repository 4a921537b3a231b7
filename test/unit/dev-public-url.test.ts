// `npm run dev` sets PUBLIC_URL (the origin of push attachment links) to the address wrangler dev
// listens on. The whole path is checked by `npm run dev -- --port 9000` with
// `PARLEY_URL=http://127.0.0.1:9000 npm run smoke:push` (the link must download the file).
import { describe, expect, it } from "vitest";
import { devPublicUrl } from "../../scripts/dev-public-url";

const EXAMPLE = "CORS_ORIGINS=*\nPUBLIC_URL=http://127.0.0.1:8787\nDOCS_ENABLED=true\n";

describe("devPublicUrl", () => {
  it.each<[string[], string]>([
    [[], "http://127.0.0.1:8787"],
    [["--port", "9000"], "http://127.0.0.1:9000"],
    [["--port=9001"], "http://127.0.0.1:9001"],
    [["--ip", "localhost", "--port", "9002"], "http://localhost:9002"],
    [["--ip", "0.0.0.0", "--port", "9003"], "http://127.0.0.1:9003"],
    [["--ip", "::1"], "http://[::1]:8787"],
    [["--local-protocol", "https", "--port", "8443"], "https://127.0.0.1:8443"],
    [["--port", "9000", "--inspector-port", "9229"], "http://127.0.0.1:9000"],
  ])("wrangler dev %j listens on %s", (args, expected) => {
    expect(devPublicUrl(args, EXAMPLE)).toBe(expected);
  });

  it("follows the port when .dev.vars has no PUBLIC_URL or a loopback one, and keeps any other", () => {
    expect(devPublicUrl(["--port", "9000"], "")).toBe("http://127.0.0.1:9000");
    expect(devPublicUrl(["--port", "9000"], "PUBLIC_URL=\n")).toBe("http://127.0.0.1:9000");
    expect(devPublicUrl(["--port", "9000"], "PUBLIC_URL=http://localhost:8787/\n")).toBe("http://127.0.0.1:9000");
    expect(devPublicUrl(["--port", "9000"], "PUBLIC_URL=https://dev.example.test\n")).toBeNull();
  });
});
