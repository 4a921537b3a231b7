#!/usr/bin/env node
// Generates a VAPID key pair (P-256) with WebCrypto and prints it in the form Parley reads:
//   VAPID_PUBLIC_KEY  = base64url of the raw 65-byte public point (also the browser's applicationServerKey)
//   VAPID_PRIVATE_KEY = base64url of the private scalar (the JWK "d")
// Usage: npm run vapid-keys            (prints .dev.vars lines)
//        npm run vapid-keys -- --json  (prints JSON)
// Production: pipe each value into `wrangler secret put VAPID_PUBLIC_KEY` / `VAPID_PRIVATE_KEY`.

const { subtle } = globalThis.crypto;

function base64url(bytes) {
  return Buffer.from(bytes).toString("base64url");
}

const pair = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
const publicKey = base64url(new Uint8Array(await subtle.exportKey("raw", pair.publicKey)));
const { d } = await subtle.exportKey("jwk", pair.privateKey);
if (typeof d !== "string") throw new Error("private key export has no d");

if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ publicKey, privateKey: d }, null, 2));
} else {
  console.log(`VAPID_PUBLIC_KEY=${publicKey}`);
  console.log(`VAPID_PRIVATE_KEY=${d}`);
}
