// `npm run smoke:push`: the push path on a running `npm run dev` server, end to end, with a fake
// push service on loopback. Bob subscribes like a browser would (a P-256 key pair and an auth
// secret made here), goes offline; Alice writes to him; the dev server encrypts the notification
// (RFC 8291 aes128gcm), signs VAPID and POSTs it to the fake service, which decrypts it here; the
// payload's attachment link must point at this server and download the file.
// Needs the dev settings of .dev.vars (VAPID keys, PUSH_ALLOW_LOOPBACK=true). Base URL: PARLEY_URL.
import { createServer } from "node:http";

const BASE = (process.env.PARLEY_URL || "http://127.0.0.1:8787").replace(/\/+$/, "");
const WS_URL = BASE.replace(/^http/i, "ws") + "/";
const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const enc = new TextEncoder();
const b64url = (bytes) => Buffer.from(bytes).toString("base64url");

function fail(message) {
  console.error(`✗ ${message}`);
  process.exit(1);
}

function within(ms, promise, what) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms))]);
}

function socket() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(WS_URL);
    const frames = [];
    const waiters = [];
    ws.addEventListener("message", (e) => {
      let frame;
      try {
        frame = JSON.parse(String(e.data));
      } catch {
        return;
      }
      frames.push(frame);
      for (const w of waiters.splice(0)) (w.match(frame) ? w.resolve : () => waiters.push(w))(frame);
    });
    ws.addEventListener("open", () =>
      resolve({
        ws,
        next: (match) => new Promise((res) => waiters.push({ match, resolve: res })),
        async request(action, params) {
          const id = `${action}-${Math.random()}`;
          const reply = this.next((f) => f.response?.id === id);
          ws.send(JSON.stringify({ request: { [action]: params, id } }));
          const { response } = await within(10_000, reply, action);
          if (response.error) fail(`${action} answered ${JSON.stringify(response.error)}`);
          return response;
        },
      }),
    );
    ws.addEventListener("error", () => reject(new Error(`cannot open ${WS_URL}: is \`npm run dev\` running?`)));
  });
}

async function signedIn(login) {
  const s = await socket();
  await s.request("user_create", { organization_id: "default", login, password: "smoke-pass", email: `${login}@example.com` });
  const res = await s.request("user_login", { organization_id: "default", login, password: "smoke-pass", device_id: `${login}-device` });
  return { s, user: res.user };
}

async function hkdf(salt, ikm, info, bytes) {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, bytes * 8));
}

/** RFC 8291 decryption with the subscriber's keys (one record, as Web Push sends). */
async function decrypt(body, subscriber) {
  const salt = body.subarray(0, 16);
  const idLength = body[20];
  const serverPublic = body.subarray(21, 21 + idLength);
  const ciphertext = body.subarray(21 + idLength);
  const serverKey = await crypto.subtle.importKey("raw", serverPublic, { name: "ECDH", namedCurve: "P-256" }, false, []);
  const shared = new Uint8Array(await crypto.subtle.deriveBits({ name: "ECDH", public: serverKey }, subscriber.privateKey, 256));
  const keyInfo = new Uint8Array([...enc.encode("WebPush: info\0"), ...subscriber.publicRaw, ...serverPublic]);
  const ikm = await hkdf(subscriber.auth, shared, keyInfo, 32);
  const cek = await hkdf(salt, ikm, enc.encode("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, enc.encode("Content-Encoding: nonce\0"), 12);
  const aes = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
  const padded = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, aes, ciphertext));
  let end = padded.length - 1;
  while (end > 0 && padded[end] === 0) end--; // padding, then the 0x02 delimiter
  return new TextDecoder().decode(padded.subarray(0, end));
}

// The fake push service: records what Parley POSTs.
const received = [];
let arrived;
const got = new Promise((resolve) => (arrived = resolve));
const server = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    received.push({ url: req.url, headers: req.headers, body: new Uint8Array(Buffer.concat(chunks)) });
    res.writeHead(201).end();
    arrived();
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const endpoint = `http://127.0.0.1:${server.address().port}/push/${tag}`;

try {
  const keys = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  const subscriber = {
    privateKey: keys.privateKey,
    publicRaw: new Uint8Array(await crypto.subtle.exportKey("raw", keys.publicKey)),
    auth: crypto.getRandomValues(new Uint8Array(16)),
  };
  const alice = await signedIn(`push_a_${tag}`);
  const bob = await signedIn(`push_b_${tag}`);
  await bob.s.request("push_subscription_create", {
    platform: "web",
    web_endpoint: endpoint,
    web_key_auth: b64url(subscriber.auth),
    web_key_p256dh: b64url(subscriber.publicRaw),
    device_udid: `browser-${tag}`,
  });
  console.log(`✓ ${bob.user.login} subscribed with a browser-style key pair; fake push service at ${endpoint}`);
  bob.s.ws.close();
  await new Promise((r) => setTimeout(r, 300));
  console.log(`✓ ${bob.user.login} went offline`);

  const bytes = enc.encode(`attachment ${tag}`);
  const [file] = (await alice.s.request("create_files", [{ name: "note.txt", size: bytes.length, content_type: "text/plain" }])).files;
  const upload = await fetch(file.upload_url, { method: "PUT", body: bytes, headers: { "Content-Type": "text/plain" } });
  if (!upload.ok) fail(`upload answered ${upload.status}`);
  const conversation = (await alice.s.request("conversation_create", { type: "u", participants: [bob.user._id] })).conversation;
  const attachments = [{ file_id: file.object_id, file_name: "note.txt" }];
  alice.s.ws.send(JSON.stringify({ message: { id: `push-${tag}`, cid: conversation._id, body: "ping from the push smoke check", attachments } }));
  await within(10_000, alice.s.next((f) => f.ask), "message");
  console.log(`✓ ${alice.user.login} uploaded a file and sent it to ${bob.user.login}`);

  await within(10_000, got, "the fake push service");
  const push = received[0];
  if (push.headers["content-encoding"] !== "aes128gcm") fail(`push is not aes128gcm: ${push.headers["content-encoding"]}`);
  if (!/^vapid t=[\w-]+\.[\w-]+\.[\w-]+, k=[\w-]+$/.test(push.headers.authorization ?? "")) fail(`no VAPID authorization: ${push.headers.authorization}`);
  const jwt = JSON.parse(Buffer.from(push.headers.authorization.split(/[ ,=]+/)[2].split(".")[1], "base64url").toString());
  const payload = JSON.parse(await decrypt(push.body, subscriber));
  if (payload.body !== "ping from the push smoke check" || payload.cid !== conversation._id) fail(`unexpected payload ${JSON.stringify(payload)}`);
  console.log(`✓ the fake push service got ${push.body.length} bytes (aes128gcm), VAPID aud ${jwt.aud}, sub ${jwt.sub}`);
  console.log(`✓ decrypted with the subscriber's key: ${JSON.stringify(payload)}`);
  // The link is signed on PUBLIC_URL, which `npm run dev` sets to the address it listens on.
  const link = payload.firstAttachmentUrl ?? "";
  if (new URL(link || "x:").port !== new URL(BASE).port) fail(`the attachment link ${link || "(none)"} does not point at this server (${BASE})`);
  const download = await fetch(link);
  if (!download.ok || (await download.text()) !== `attachment ${tag}`) fail(`the attachment link answered ${download.status}`);
  console.log(`✓ the attachment link points at this server and downloads the file`);
  console.log("Push smoke check passed.");
  alice.s.ws.close();
  server.close();
  process.exit(0);
} catch (err) {
  server.close();
  fail(err?.message ?? String(err));
}
