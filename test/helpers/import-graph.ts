// The import graph of src/, read from the source text: the layering test holds it against DESIGN.md's
// layers. Pure functions over { path: text }, so the test and a shell (`npx node test/helpers/import-graph.ts`)
// read the same graph.

export type Import = { from: string; to: string; typeOnly: boolean };

// import … from "x", export … from "x", import "x", import("x"); `[^;]*?` spans multi-line lists.
const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;

function resolve(from: string, spec: string, files: Set<string>): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const parts = from.split("/").slice(0, -1);
  for (const piece of spec.replace(/\?.*$/, "").split("/")) {
    if (piece === "..") parts.pop();
    else if (piece !== ".") parts.push(piece);
  }
  const base = parts.join("/");
  return [base, `${base}.ts`, `${base}/index.ts`].find((candidate) => files.has(candidate));
}

// A list like `{ type A, type B }` brings only types, so it is erased as a whole at runtime.
function onlyTypes(list: string): boolean {
  const names = list.replace(/^\{|\}$/g, "").split(",").map((name) => name.trim()).filter(Boolean);
  return list.startsWith("{") && names.length > 0 && names.every((name) => name.startsWith("type "));
}

export function importsOf(sources: Record<string, string>): Import[] {
  const files = new Set(Object.keys(sources));
  const found: Import[] = [];
  for (const [from, text] of Object.entries(sources)) {
    // Template strings hold generated code (the handler worker's modules), not this file's imports.
    const code = text.replace(/`(?:\\[\s\S]|[^`\\])*`/g, "``");
    for (const match of code.matchAll(IMPORT)) {
      const spec = match[4] ?? match[5] ?? match[6];
      const to = spec === undefined ? undefined : resolve(from, spec, files);
      if (to === undefined) continue;
      const typeOnly = match[2] !== undefined || (match[3] !== undefined && onlyTypes(match[3].trim()));
      found.push({ from, to, typeOnly });
    }
  }
  return found;
}

// Strongly connected components with more than one file (Tarjan), each sorted, largest first.
export function circles(imports: Import[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of imports) next.set(from, [...(next.get(from) ?? []), to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, index.size);
    low.set(file, index.get(file)!);
    stack.push(file);
    onStack.add(file);
    for (const to of next.get(file) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(file, Math.min(low.get(file)!, index.get(to)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1) found.push(component.sort());
  };
  for (const file of next.keys()) if (!index.has(file)) visit(file);
  return found.sort((a, b) => b.length - a.length);
}
