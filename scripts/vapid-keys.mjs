#!/usr/bin/env node
// Generates a VAPID key pair (scripts/lib/keys.mjs) and prints it in the form Parley reads.
// Usage: npm run vapid-keys            (prints .dev.vars lines)
//        npm run vapid-keys -- --json  (prints JSON)
// A deployment gets its pair from `npm run secrets`, which uploads it without printing it.
import { vapidKeyPair } from "./lib/keys.mjs";

const { publicKey, privateKey } = await vapidKeyPair();
if (process.argv.includes("--json")) {
  console.log(JSON.stringify({ publicKey, privateKey }, null, 2));
} else {
  console.log(`VAPID_PUBLIC_KEY=${publicKey}`);
  console.log(`VAPID_PRIVATE_KEY=${privateKey}`);
}
