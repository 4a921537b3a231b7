// The OpenAPI 3.1 document of the HTTP routes, made from their declarations (src/http/documented.ts).
// zod 4 writes JSON Schema draft 2020-12, which is OpenAPI 3.1's own schema dialect, so the request
// and response schemas go in as zod renders them.
import { z } from "zod";
import type { Operation, ResponseDoc } from "./documented";

type Json = Record<string, unknown>;

const ADMIN_SECURITY = "adminApiKey";

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Json {
  const out = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Json;
  delete out.$schema; // the document's dialect already is draft 2020-12
  return out;
}

/** `/files/:object_id` → `/files/{object_id}` and its path parameters. */
function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = [];
  const converted = path.replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => {
    params.push(name);
    return `{${name}}`;
  });
  return { path: converted, params };
}

function parameters(op: Operation, pathParams: readonly string[]): Json[] {
  const out: Json[] = pathParams.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } }));
  if (op.query) {
    const query = jsonSchema(op.query, "input");
    const required = new Set((query.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((query.properties as Record<string, Json> | undefined) ?? {})) {
      out.push({ name, in: "query", required: required.has(name), schema });
    }
  }
  for (const [name, description] of Object.entries(op.headers ?? {})) {
    out.push({ name, in: "header", required: false, description, schema: { type: "string" } });
  }
  return out;
}

function response(doc: ResponseDoc): Json {
  const content: Json = {};
  if (doc.json) content["application/json"] = { schema: jsonSchema(doc.json, "output") };
  if (doc.text) content["text/plain"] = { schema: { type: "string", examples: [...doc.text] } };
  if (doc.bytes) content[doc.bytes] = { schema: { type: "string", contentMediaType: doc.bytes } };
  return Object.keys(content).length > 0 ? { description: doc.description, content } : { description: doc.description };
}

function operationObject(op: Operation, pathParams: readonly string[]): Json {
  const out: Json = {
    operationId: `${op.method}${op.path.replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? "").toUpperCase())}`,
    summary: op.summary,
    tags: [op.tag],
  };
  if (op.description) out.description = op.description;
  const params = parameters(op, pathParams);
  if (params.length > 0) out.parameters = params;
  if (op.body) {
    const media: Json = { schema: jsonSchema(op.body, "input") };
    if (op.example !== undefined) media.example = op.example;
    out.requestBody = { required: true, content: { "application/json": media } };
  } else if (op.bytes) {
    out.requestBody = { required: true, content: { [op.bytes]: { schema: { type: "string", contentMediaType: op.bytes } } } };
  }
  out.responses = Object.fromEntries(Object.entries(op.responses).map(([status, doc]) => [status, response(doc)]));
  if (op.admin) out.security = [{ [ADMIN_SECURITY]: [] }];
  return out;
}

export function openApiDocument(operations: readonly Operation[]): Json {
  const paths: Record<string, Json> = {};
  for (const op of operations) {
    const { path, params } = openApiPath(op.path);
    paths[path] = { ...paths[path], [op.method]: operationObject(op, params) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Parley HTTP API",
      version: "0.36",
      description:
        "The HTTP API of SAMA 0.36 as Parley serves it. Errors of SAMA's routes are text/plain bodies holding the message. " +
        "Admin routes need the admin-api-key header.",
    },
    tags: [...new Set(operations.map((op) => op.tag))].map((name) => ({ name })),
    paths,
    components: { securitySchemes: { [ADMIN_SECURITY]: { type: "apiKey", in: "header", name: "admin-api-key" } } },
  };
}
