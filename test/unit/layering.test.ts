/// <reference types="vite/client" />
// DESIGN.md's layering, held against src/'s imports: transport on top, then protocol, services, the
// state engines (reached through objects/stubs.ts), the single concerns, domain/, then db/, auth/,
// config, log and counters. Nothing imports upward; no files import each other in a circle, type imports included.
import { describe, expect, it } from "vitest";
import { circles, importsOf, type Import } from "../helpers/import-graph";

const sources = Object.fromEntries(
  Object.entries(import.meta.glob<string>("../../src/**/*.ts", { query: "?raw", import: "default", eager: true })).map(([path, text]) => [
    path.replace(/^\.\.\/\.\.\//, ""),
    text,
  ]),
);

// Top first. A file belongs to the first layer whose pattern matches it.
const LAYERS: Array<[string, RegExp]> = [
  ["the Worker entry", /^src\/index\.ts$/],
  ["transport", /^src\/http\/|^src\/objects\/(gateway|session)\.ts$/],
  ["protocol", /^src\/protocol\//],
  ["services", /^src\/services\//],
  ["state engines", /^src\/objects\//],
  ["concerns", /^src\/(push|files|handlers|email|ai)\//],
  ["domain", /^src\/domain\//],
  ["db, auth, config, log, counters", /^src\/(db|auth)\/|^src\/(config|log|operator-counters)\.ts$/],
];

/** Durable Object classes: reached through their stubs, never imported by callers. */
const OBJECT_CLASSES = ["src/objects/conversation.ts", "src/objects/inbox.ts", "src/objects/gateway.ts"];
const STUBS = "src/objects/stubs.ts";

function layerOf(file: string): number {
  const index = LAYERS.findIndex(([, pattern]) => pattern.test(file));
  if (index < 0) throw new Error(`${file} is in no layer: add it to LAYERS`);
  return index;
}

// stubs.ts is the boundary: it names the state engines' classes as types (erased at runtime) to type
// their stubs, through which those classes reach each other. (The Gateway, above, it names by its calls.)
const ENGINE_CLASSES = ["src/objects/conversation.ts", "src/objects/inbox.ts"];
const imports: Import[] = importsOf(sources).filter((i) => !(i.from === STUBS && i.typeOnly && ENGINE_CLASSES.includes(i.to)));

const show = (i: Import) => `${i.from} -> ${i.to}${i.typeOnly ? " (types)" : ""}`;

describe("layering of src/", () => {
  it("reads the whole tree, every file in a layer", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(100);
    expect(imports.length).toBeGreaterThan(400);
    for (const file of Object.keys(sources)) layerOf(file);
  });

  it("has no import circle", () => {
    expect(circles(imports)).toEqual([]);
  });

  it("imports nothing from a layer above", () => {
    const upward = imports.filter((i) => layerOf(i.to) < layerOf(i.from)).map((i) => `${show(i)}: ${LAYERS[layerOf(i.from)]![0]} imports ${LAYERS[layerOf(i.to)]![0]}`);
    expect(upward).toEqual([]);
  });

  it("reaches the Durable Object classes through stubs.ts only", () => {
    const direct = imports.filter((i) => OBJECT_CLASSES.includes(i.to) && i.from !== "src/index.ts").map(show);
    expect(direct).toEqual([]);
  });

  it("sees circles, upward and type-only imports (the checks above can fail)", () => {
    const found = importsOf({
      "src/a.ts": 'import { b } from "./b";\nexport const a = 1;',
      "src/b.ts": 'import {\n  type A,\n  type C,\n} from "./a";\nexport * from "./c";',
      "src/c.ts": "const s = `import { a } from \"./a\"`;\nconst m = await import(\"./a\");",
    });
    expect(found).toEqual([
      { from: "src/a.ts", to: "src/b.ts", typeOnly: false },
      { from: "src/b.ts", to: "src/a.ts", typeOnly: true },
      { from: "src/b.ts", to: "src/c.ts", typeOnly: false },
      { from: "src/c.ts", to: "src/a.ts", typeOnly: false },
    ]);
    expect(circles(found)).toEqual([["src/a.ts", "src/b.ts", "src/c.ts"]]);
  });
});
