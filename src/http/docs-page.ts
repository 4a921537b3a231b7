// The /docs viewer: one self-contained page (no CDN, no external URL). It reads /openapi.json and
// lists every HTTP operation with its parameters, body schema and answers, plus a form that sends the
// request with an admin key; then reads /asyncapi.json and lists every WebSocket request (params,
// reply, errors) and every packet the server pushes. It renders everything through textContent,
// never as HTML.

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d232a;color:#fff;padding:14px 24px;display:flex;gap:24px;align-items:center;flex-wrap:wrap}
header h1{font-size:18px;margin:0}header label{display:flex;gap:8px;align-items:center}
main{max-width:1100px;margin:0 auto;padding:16px 24px}h2{margin:28px 0 8px;font-size:16px}
details{background:#fff;border:1px solid #d8dde3;border-radius:6px;margin:6px 0}
summary{cursor:pointer;padding:8px 12px;display:flex;gap:10px;align-items:center}
.m{font:600 12px monospace;padding:2px 6px;border-radius:4px;color:#fff;min-width:52px;text-align:center}
.get{background:#2f7d32}.post{background:#1565c0}.put{background:#b26a00}.delete{background:#c62828}
.p{font-family:monospace}.key{white-space:nowrap;font-size:11px;border:1px solid #b26a00;color:#b26a00;border-radius:4px;padding:0 5px}
.body{padding:4px 14px 14px}pre{background:#f0f2f5;padding:8px;overflow:auto;max-height:340px;margin:4px 0}
textarea{width:100%;min-height:120px;font-family:monospace;box-sizing:border-box}
input[type=text]{font-family:monospace;width:100%;box-sizing:border-box}
table{border-collapse:collapse}td,th{border:1px solid #d8dde3;padding:3px 8px;text-align:left;vertical-align:top}
button{padding:5px 14px;margin-top:6px}.out{white-space:pre-wrap}
header nav{display:flex;gap:16px}header a{color:#fff}.ws{background:#6a1b9a}.rx{background:#00838f}
`;

const SCRIPT = `
"use strict";
const el = (tag, props, ...children) => {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
};
const pretty = (value) => JSON.stringify(value, null, 2);
const keyInput = document.getElementById("key");
document.getElementById("nav").append(...[["#websocket", "WebSocket protocol"], ["/openapi.json", "openapi.json"], ["/asyncapi.json", "asyncapi.json"]]
  .map(([href, text]) => el("a", { href, textContent: text })));
const main = document.querySelector("main");

function schemaBlock(title, schema) {
  return el("div", {}, el("strong", { textContent: title }), el("pre", { textContent: pretty(schema) }));
}

function responsesBlock(responses) {
  const table = el("table", {}, el("tr", {}, el("th", { textContent: "Status" }), el("th", { textContent: "Answer" })));
  for (const [status, response] of Object.entries(responses)) {
    const cell = el("td", {}, el("div", { textContent: response.description }));
    for (const [type, media] of Object.entries(response.content || {})) {
      const examples = media.schema && media.schema.examples;
      cell.append(el("div", { textContent: type }));
      if (type === "text/plain" && examples) cell.append(el("pre", { textContent: examples.join("\\n") }));
      else cell.append(el("pre", { textContent: pretty(media.schema) }));
    }
    table.append(el("tr", {}, el("td", { textContent: status }), cell));
  }
  return table;
}

function tryIt(method, path, op) {
  const json = op.requestBody && op.requestBody.content["application/json"];
  const rawType = op.requestBody && !json ? Object.keys(op.requestBody.content)[0] : null;
  const pathInput = el("input", { type: "text", value: path });
  const queryInput = el("input", { type: "text", placeholder: "query string, e.g. format=1" });
  const bodyInput = op.requestBody ? el("textarea", { value: json ? pretty(json.example ?? {}) : "" }) : null;
  const out = el("pre", { className: "out" });
  const send = el("button", { textContent: "Send " + method.toUpperCase() });
  send.addEventListener("click", async () => {
    const headers = {};
    if (op.security) headers["admin-api-key"] = keyInput.value;
    if (bodyInput) headers["Content-Type"] = json ? "application/json" : rawType;
    const query = queryInput.value.trim();
    out.textContent = "…";
    try {
      const res = await fetch(pathInput.value + (query ? "?" + query : ""), {
        method: method.toUpperCase(), headers, body: bodyInput ? bodyInput.value : undefined, credentials: "same-origin",
      });
      const text = await res.text();
      let shown = text;
      try { shown = pretty(JSON.parse(text)); } catch {}
      out.textContent = res.status + " " + res.statusText + "\\n" + (res.headers.get("Content-Type") || "") + "\\n\\n" + shown;
    } catch (err) {
      out.textContent = String(err);
    }
  });
  return el("div", {}, el("strong", { textContent: "Try it" }), el("div", { textContent: "Path" }), pathInput,
    el("div", { textContent: "Query" }), queryInput, bodyInput ? el("div", { textContent: "Body" }) : null, bodyInput, send, out);
}

function operationBlock(method, path, op) {
  const summary = el("summary", {}, el("span", { className: "m " + method, textContent: method.toUpperCase() }),
    el("span", { className: "p", textContent: path }), el("span", { textContent: op.summary || "" }),
    op.security ? el("span", { className: "key", textContent: "admin-api-key" }) : null);
  const body = el("div", { className: "body" });
  if (op.description) body.append(el("p", { textContent: op.description }));
  if (op.parameters) {
    body.append(schemaBlock("Parameters", op.parameters.map((p) => ({ name: p.name, in: p.in, required: p.required, schema: p.schema }))));
  }
  if (op.requestBody) {
    for (const [type, media] of Object.entries(op.requestBody.content)) body.append(schemaBlock("Request body (" + type + ")", media.schema));
  }
  body.append(el("strong", { textContent: "Responses" }), responsesBlock(op.responses), tryIt(method, path, op));
  return el("details", {}, summary, body);
}

const ref = (doc, value) => value && value.$ref ? value.$ref.slice(2).split("/").reduce((node, key) => node[key], doc) : value;

function errorsTable(payload) {
  const frame = Object.values(payload.properties)[0];
  const table = el("table", {}, el("tr", {}, el("th", { textContent: "Status" }), el("th", { textContent: "Message" })));
  for (const e of frame.properties.error.anyOf) {
    table.append(el("tr", {}, el("td", { textContent: String(e.properties.status.const) }),
      el("td", { textContent: e.properties.message.const || e.properties.message.description })));
  }
  return table;
}

function wsOperationBlock(doc, name, op) {
  const receive = op.action === "receive";
  const summary = el("summary", {}, el("span", { className: "m " + (receive ? "rx" : "ws"), textContent: receive ? "PUSH" : "SEND" }),
    el("span", { className: "p", textContent: op.title }), el("span", { textContent: op.summary || "" }),
    op.tags && op.tags[0].name === "signed-in" ? el("span", { className: "key", textContent: "signed in" }) : null);
  const body = el("div", { className: "body" });
  if (op.description) body.append(el("p", { textContent: op.description }));
  for (const message of op.messages) body.append(schemaBlock(receive ? "Packet" : "Frame", ref(doc, ref(doc, message)).payload));
  if (op.reply) {
    for (const message of op.reply.messages) {
      const m = ref(doc, ref(doc, message));
      if (m.name.endsWith(" error")) body.append(el("strong", { textContent: "Errors" }), errorsTable(m.payload));
      else body.append(schemaBlock("Reply", m.payload));
    }
  }
  return el("details", { id: "ws-" + name }, summary, body);
}

async function renderWebSocket() {
  const section = el("section", { id: "websocket" }, el("h2", { textContent: "WebSocket protocol" }));
  main.append(section);
  const res = await fetch("/asyncapi.json");
  if (!res.ok) { section.append(el("p", { textContent: "Could not load /asyncapi.json: " + res.status })); return; }
  const doc = await res.json();
  section.append(el("p", { textContent: doc.info.description }));
  const ops = Object.entries(doc.operations);
  section.append(el("h2", { textContent: "Requests" }), ...ops.filter(([, op]) => op.action === "send").map(([name, op]) => wsOperationBlock(doc, name, op)));
  section.append(el("h2", { textContent: "Packets the server pushes" }), ...ops.filter(([, op]) => op.action === "receive").map(([name, op]) => wsOperationBlock(doc, name, op)));
}

async function render() {
  const res = await fetch("/openapi.json");
  if (!res.ok) { main.textContent = "Could not load /openapi.json: " + res.status; await renderWebSocket(); return; }
  const doc = await res.json();
  main.replaceChildren(el("h2", { textContent: "HTTP API" }), el("p", { textContent: doc.info.description || "" }));
  const byTag = new Map();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const tag = (op.tags && op.tags[0]) || "Other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push(operationBlock(method, path, op));
    }
  }
  for (const [tag, blocks] of byTag) main.append(el("h2", { textContent: tag }), ...blocks);
  await renderWebSocket();
}
render();
`;

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

export interface DocsPage {
  html: string;
  /** Allows exactly this page's inline script and style, and fetches to this origin only. */
  contentSecurityPolicy: string;
}

export async function docsPage(): Promise<DocsPage> {
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<title>Parley API</title><style>${STYLE}</style></head><body>` +
    `<header><h1 id="title">Parley API</h1><nav id="nav"></nav><label>admin-api-key <input id="key" type="password" autocomplete="off"></label></header>` +
    `<main>Loading /openapi.json…</main><script>${SCRIPT}</script></body></html>`;
  const contentSecurityPolicy =
    `default-src 'none'; script-src 'sha256-${await sha256Base64(SCRIPT)}'; style-src 'sha256-${await sha256Base64(STYLE)}'; ` +
    `connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  return { html, contentSecurityPolicy };
}
