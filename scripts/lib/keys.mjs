// Key material for a deployment, made with WebCrypto's random source.
const { subtle } = globalThis.crypto;

/** 32 random bytes as base64url: an HMAC key or the admin key (safe in a header as it is). */
export function randomKey() {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}

/**
 * A VAPID key pair (P-256) in the form Parley reads: the public key is base64url of the raw 65-byte
 * point (also the browser's applicationServerKey), the private key base64url of the scalar (JWK "d").
 */
export async function vapidKeyPair() {
  const pair = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const publicKey = Buffer.from(new Uint8Array(await subtle.exportKey("raw", pair.publicKey))).toString("base64url");
  const { d } = await subtle.exportKey("jwk", pair.privateKey);
  if (typeof d !== "string") throw new Error("private key export has no d");
  return { publicKey, privateKey: d };
}
