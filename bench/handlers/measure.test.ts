// PARLEY_MEASURE=1 npx vitest run --project measure
// What a conversation handler costs, printed (docs/handlers.md): each engine cold and warm, and 1:1
// sends with and without a handler through real sockets. Nothing here is asserted.
import { env, exports } from "cloudflare:workers";
import { it } from "vitest";
import { HANDLER_BUDGETS } from "../../src/handlers/budgets";
import { QuickJsEngine } from "../../src/handlers/quickjs";
import { WorkerLoaderEngine } from "../../src/handlers/worker-loader";
import type { HandlerEngine } from "../../src/handlers/types";
import { createConversation, device, tab, users } from "../../test/chat/messages-fixtures";
import { expectAsk, samaHandler, sendMessage, setHandler } from "../../test/handlers/fixtures";

const CODE = samaHandler(`if (message.body.includes("spam")) return reject("no"); return accept();`);
const INPUT = { message: { cid: "c", body: "hello there", x: {} }, user: { _id: "u", login: "someone" } };
const noNetwork = () => Promise.reject(new Error("no network in measurements"));

const ms = (n: number) => `${n.toFixed(2)} ms`;

async function engineCost(name: string, engine: HandlerEngine, code: string): Promise<void> {
  let started = performance.now();
  await engine.run(code, INPUT, HANDLER_BUDGETS);
  const cold = performance.now() - started;
  const runs = 200;
  started = performance.now();
  for (let i = 0; i < runs; i++) await engine.run(code, INPUT, HANDLER_BUDGETS);
  console.log(`[measure] ${name}: cold ${ms(cold)}, warm ${ms((performance.now() - started) / runs)} per message (${runs} runs)`);
}

it("engine cost per message", async () => {
  // Date.now() only moves on I/O inside workerd; performance.now() too, so each timing ends on awaited work.
  await engineCost("quickjs", new QuickJsEngine(noNetwork), CODE);
  await engineCost("worker-loader", new WorkerLoaderEngine(env.LOADER, exports.HandlerOutbound), `${CODE}\n// ${Math.random()}`);
});

it("1:1 sends with and without a handler", async () => {
  const [a, b, c] = await users(3);
  const senderDevice = await device(a!);
  const owner = await tab(senderDevice);
  await tab(await device(b!));
  await tab(await device(c!));
  const plain = await createConversation(owner, "u", [b!.id]);
  const handled = await createConversation(owner, "u", [c!.id]);
  await setHandler(owner, handled, CODE);
  for (const [label, cid] of [["no handler", plain], ["quickjs handler", handled], ["no handler", plain], ["quickjs handler", handled]] as const) {
    // A socket per round: the per-socket rate limit (50/s, burst 200) must not shape the numbers.
    const sender = await tab(senderDevice);
    await expectAsk(sendMessage(sender, cid, { body: "warm-up" }));
    const count = 80;
    const started = Date.now();
    for (let i = 0; i < count; i++) await expectAsk(sendMessage(sender, cid, { body: `m${i}` }));
    const oneAtATime = Date.now() - started;
    const burstStart = Date.now();
    await Promise.all(Array.from({ length: count }, (_, i) => expectAsk(sendMessage(sender, cid, { body: `b${i}` }, undefined, 60_000))));
    const burst = Date.now() - burstStart;
    console.log(`[measure] 1:1 ${label}: one in flight ${ms(oneAtATime / count)} per send (${Math.round((count * 1000) / oneAtATime)}/s); burst of ${count}: ${Math.round((count * 1000) / burst)}/s`);
  }
});
