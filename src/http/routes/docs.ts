// GET /openapi.json, GET /asyncapi.json and GET /docs: they describe the HTTP API and the WebSocket
// protocol and act on nothing, so they need no admin key; they are served only when DOCS_ENABLED is
// "true" (development), and are a plain 404 otherwise.
import { z } from "zod";
import { getConfig } from "../../config";
import { Errors, SamaError } from "../../domain/errors";
import { docsPage, type DocsPage } from "../docs-page";
import { documented, type DocumentedRoutes } from "../documented";
import { openApiDocument } from "../openapi";
import { asyncApiDocument } from "../../protocol/asyncapi";
import type { AppContext } from "../types";

const ONLY_WHEN_ENABLED = 'Served only when the DOCS_ENABLED var is "true"; otherwise 404 `Route not found`.';
const notServed = { 404: { description: "DOCS_ENABLED is not set", text: [Errors.ROUTE_NOT_FOUND.message] } };

function requireEnabled(c: AppContext): void {
  if (!getConfig(c.env).docsEnabled) throw new SamaError(Errors.ROUTE_NOT_FOUND);
}

const json = { "Content-Type": "application/json; charset=UTF-8" };

/** The documents of `routes` (and of these routes themselves) and of the WebSocket protocol, built once per isolate. */
export function apiDocs(routes: readonly DocumentedRoutes[]): DocumentedRoutes {
  let document: string | undefined;
  let asyncApi: string | undefined;
  let page: Promise<DocsPage> | undefined;
  const self: DocumentedRoutes = documented(
    {
      method: "get",
      path: "/openapi.json",
      tag: "Documentation",
      summary: "This OpenAPI 3.1 document",
      description: ONLY_WHEN_ENABLED,
      responses: { 200: { description: "The document", json: z.looseObject({ openapi: z.literal("3.1.0"), paths: z.looseObject({}) }) }, ...notServed },
      handle: (c) => {
        requireEnabled(c);
        document ??= JSON.stringify(openApiDocument([...routes, self].flatMap((r) => r.operations)));
        return c.body(document, 200, json);
      },
    },
    {
      method: "get",
      path: "/asyncapi.json",
      tag: "Documentation",
      summary: "The AsyncAPI 3 document of the WebSocket protocol: every request with its params, reply and errors, every packet the server pushes",
      description: ONLY_WHEN_ENABLED,
      responses: {
        200: { description: "The document", json: z.looseObject({ asyncapi: z.literal("3.0.0"), channels: z.looseObject({}), operations: z.looseObject({}) }) },
        ...notServed,
      },
      handle: (c) => {
        requireEnabled(c);
        asyncApi ??= JSON.stringify(asyncApiDocument());
        return c.body(asyncApi, 200, json);
      },
    },
    {
      method: "get",
      path: "/docs",
      tag: "Documentation",
      summary: "A browsable viewer of both documents (HTTP routes with a form to try each, then the WebSocket protocol)",
      description: ONLY_WHEN_ENABLED,
      responses: { 200: { description: "A self-contained HTML page (no external resources)", bytes: "text/html" }, ...notServed },
      handle: async (c) => {
        requireEnabled(c);
        page ??= docsPage();
        const { html, contentSecurityPolicy } = await page;
        return c.html(html, 200, { "Content-Security-Policy": contentSecurityPolicy, "X-Content-Type-Options": "nosniff" });
      },
    },
  );
  return self;
}
