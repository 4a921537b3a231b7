// Parley's web chat: plain TypeScript over the client SDK, rendered with a tiny DOM helper. The
// Worker serves it at "/" (wrangler.toml [assets]); `npm run build:web` bundles it into dist/web.
import { ParleyClient, ParleyError, webStorage, type ConnectionStatus, type ListedMessage, type Message, type Reply, type User } from "@parley/client";

type Conversation = Reply<"conversation_list">["conversations"][number];
type UserCard = Reply<"get_users_by_ids">["users"][number];
type Attachment = NonNullable<Message["attachments"]>[number];
type Tick = "pending" | "sent" | "delivered" | "read";

interface ChatMessage {
  _id: string;
  /** Set while the send waits for its ask (and kept after, to match the ask). */
  clientId?: string;
  cid: string;
  from: string;
  body?: string;
  attachments?: Attachment[];
  t: number;
  status?: Tick;
  edited?: boolean;
  total: Record<string, number>;
  own: Set<string>;
}

// Symbols every system font has (emoji fonts are not everywhere, e.g. headless Linux).
const REACTION = "♥";
const PAPERCLIP =
  '<svg width="20" height="20" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true"><path d="M21 11.5l-8.6 8.6a5.5 5.5 0 01-7.8-7.8l9.2-9.2a3.7 3.7 0 015.2 5.2l-9.2 9.2a1.8 1.8 0 01-2.6-2.6l8.5-8.5"/></svg>';

const client = new ParleyClient({ storage: webStorage(localStorage) });

const state = {
  me: null as User | null,
  conversations: new Map<string, Conversation>(),
  users: new Map<string, UserCard | User>(),
  online: new Map<string, boolean>(),
  openCid: null as string | null,
  messages: new Map<string, ChatMessage[]>(),
  typing: new Map<string, { from: string; until: number }>(),
  editing: null as ChatMessage | null,
  fileUrls: new Map<string, string>(),
  status: "signed-out" as ConnectionStatus,
};

// ---------------------------------------------------------------- DOM helper

type Child = Node | string | null | undefined | false;
type Props = Record<string, string | number | boolean | EventListener | undefined>;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === "class") el.className = String(value);
    else if (key === "value") (el as HTMLInputElement).value = String(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child);
  return el;
}

const root = document.getElementById("app")!;

function $(selector: string): HTMLElement | null {
  return root.querySelector<HTMLElement>(selector);
}

// ---------------------------------------------------------------- names and views

function userName(id: string): string {
  return state.users.get(id)?.login ?? "…";
}

/** The other member of a private chat. */
function otherOf(c: Conversation): string | null {
  if (c.type !== "u" || !state.me) return null;
  return c.opponent_id === state.me._id ? c.owner_id : (c.opponent_id ?? null);
}

function titleOf(c: Conversation): string {
  const other = otherOf(c);
  return other ? userName(other) : (c.name ?? "Group");
}

function lastAt(c: Conversation): number {
  return c.last_message?.t ?? Date.parse(c.updated_at) / 1000;
}

function timeOf(t: number): string {
  return new Date(t * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function toChat(m: Message | ListedMessage, status?: Tick): ChatMessage {
  const listed = m as Partial<ListedMessage>;
  return {
    _id: m._id,
    cid: m.cid,
    from: m.from,
    body: m.body,
    attachments: m.attachments,
    t: m.t,
    status: m.from === state.me?._id ? (listed.status ?? status ?? "sent") : undefined,
    total: { ...(listed.reactions?.total ?? {}) },
    own: new Set(listed.reactions?.own ?? []),
  };
}

function preview(m: { body?: string; attachments?: Attachment[] } | undefined): string {
  if (!m) return "No messages yet";
  if (m.body) return m.body;
  const name = m.attachments?.[0]?.file_name;
  return typeof name === "string" ? `Attachment: ${name}` : "Attachment";
}

// ---------------------------------------------------------------- screens

function renderAuth(error = ""): void {
  const login = h("input", { id: "login", name: "login", autocomplete: "username", required: true, minlength: 3, maxlength: 40 });
  const password = h("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true, minlength: 3, maxlength: 40 });
  const message = h("p", { class: "error", role: "alert" }, error);
  const submit = async (signUp: boolean) => {
    if (!form.reportValidity()) return;
    message.textContent = signUp ? "Creating your account…" : "Signing in…";
    try {
      state.me = signUp ? await client.signUp({ login: login.value.trim(), password: password.value }) : await client.signIn(login.value.trim(), password.value);
      await showApp();
    } catch (err) {
      message.textContent = err instanceof ParleyError ? err.message : "Could not reach the server.";
    }
  };
  const form = h(
    "form",
    { class: "auth", onsubmit: (e: Event) => (e.preventDefault(), void submit(false)) },
    h("h1", {}, "Parley"),
    h("label", { for: "login" }, "Login"),
    login,
    h("label", { for: "password" }, "Password"),
    password,
    h("div", { class: "row" }, h("button", { type: "submit" }, "Sign in"), h("button", { type: "button", class: "secondary", onclick: () => void submit(true) }, "Sign up")),
    message,
  );
  root.replaceChildren(form);
  login.focus();
}

async function showApp(): Promise<void> {
  state.me = client.user;
  if (state.me) state.users.set(state.me._id, state.me);
  root.replaceChildren(
    h(
      "div",
      { class: "app" },
      h(
        "header",
        { class: "top" },
        h("strong", {}, "Parley"),
        h("span", { class: "me" }, state.me?.login ?? ""),
        h("button", { class: "secondary", onclick: () => void signOut() }, "Sign out"),
      ),
      h("div", { class: "banner", role: "status", hidden: true }),
      h(
        "main",
        {},
        h(
          "aside",
          { class: "sidebar" },
          h("div", { class: "row" }, h("button", { onclick: () => openNewChat() }, "New chat"), h("button", { class: "secondary", onclick: () => openNewGroup() }, "New group")),
          h("ul", { class: "conversations", "aria-label": "Conversations" }),
        ),
        h("section", { class: "chat" }),
      ),
    ),
  );
  renderBanner();
  renderChat();
  await reloadAll();
}

async function signOut(): Promise<void> {
  await client.signOut();
  location.reload();
}

function renderBanner(): void {
  const banner = $(".banner");
  if (!banner) return;
  const down = state.status === "offline" || state.status === "connecting";
  banner.hidden = !down;
  banner.textContent = down ? "You are offline. Reconnecting…" : "";
}

function renderList(): void {
  const list = $(".conversations");
  if (!list) return;
  const items = [...state.conversations.values()].sort((a, b) => lastAt(b) - lastAt(a));
  list.replaceChildren(
    ...items.map((c) => {
      const other = otherOf(c);
      const online = other !== null && state.online.get(other) === true;
      const unread = c.unread_messages_count;
      return h(
        "li",
        {},
        h(
          "button",
          { class: "conversation", "aria-current": c._id === state.openCid ? "true" : undefined, onclick: () => void openConversation(c._id) },
          h("span", { class: `avatar${online ? " online" : ""}`, "aria-hidden": "true" }, titleOf(c).slice(0, 1).toUpperCase()),
          h(
            "span",
            { class: "summary" },
            h("span", { class: "title" }, titleOf(c), online ? h("span", { class: "presence" }, " · online") : null),
            h("span", { class: "last" }, preview(c.last_message)),
          ),
          unread > 0 ? h("span", { class: "badge", "aria-label": `${unread} unread` }, String(unread)) : null,
        ),
      );
    }),
  );
  if (items.length === 0) list.append(h("li", { class: "empty" }, "No conversations yet: start one with New chat."));
}

function tickOf(status: Tick | undefined): Child {
  if (!status) return null;
  const [text, label] = { pending: ["🕓", "Sending"], sent: ["✓", "Sent"], delivered: ["✓✓", "Delivered"], read: ["✓✓", "Read"] }[status];
  return h("span", { class: `tick ${status}`, "aria-label": label, title: label }, text);
}

function renderAttachment(a: Attachment): Child {
  const id = typeof a.file_id === "string" ? a.file_id : "";
  const name = typeof a.file_name === "string" ? a.file_name : "file";
  const url = state.fileUrls.get(id);
  const isImage = typeof a.file_content_type === "string" && a.file_content_type.startsWith("image/");
  if (isImage) return url ? h("a", { href: url, target: "_blank", rel: "noopener" }, h("img", { src: url, alt: name, class: "preview" })) : h("span", { class: "file" }, `Image: ${name}`);
  return url ? h("a", { href: url, class: "file", download: name }, `File: ${name}`) : h("span", { class: "file" }, `File: ${name}`);
}

function renderMessage(m: ChatMessage): HTMLLIElement {
  const mine = m.from === state.me?._id;
  const reactions = Object.entries(m.total).filter(([, n]) => n > 0);
  return h(
    "li",
    { class: `msg${mine ? " mine" : ""}`, "data-id": m._id },
    h(
      "div",
      { class: "bubble" },
      ...(m.attachments ?? []).map(renderAttachment),
      m.body ? h("p", { class: "text" }, m.body) : null,
      h("span", { class: "meta" }, m.edited ? "edited · " : "", timeOf(m.t), " ", tickOf(m.status)),
    ),
    h(
      "div",
      { class: "actions" },
      ...reactions.map(([emoji, n]) => h("span", { class: `reaction${m.own.has(emoji) ? " own" : ""}` }, `${emoji} ${n}`)),
      m.status !== "pending"
        ? h("button", { class: "icon", "aria-label": `React ${REACTION}`, "aria-pressed": m.own.has(REACTION) ? "true" : "false", onclick: () => void react(m) }, REACTION)
        : null,
      mine && m.status !== "pending" && m.body ? h("button", { class: "icon", "aria-label": "Edit message", onclick: () => startEdit(m) }, "✎") : null,
      mine && m.status !== "pending" ? h("button", { class: "icon", "aria-label": "Delete message", onclick: () => void remove(m) }, "✕") : null,
    ),
  );
}

function attachLabel(): HTMLLabelElement {
  const label = h("label", { for: "attach", class: "icon attach", title: "Attach file" });
  label.innerHTML = PAPERCLIP;
  label.append(h("span", { class: "visually-hidden" }, "Attach file"));
  return label;
}

function renderChat(): void {
  const pane = $(".chat");
  const app = $(".app");
  if (!pane || !app) return;
  const c = state.openCid ? state.conversations.get(state.openCid) : undefined;
  app.classList.toggle("chat-open", c !== undefined);
  if (!c) {
    pane.replaceChildren(h("p", { class: "placeholder" }, "Pick a conversation, or start one with New chat."));
    return;
  }
  const other = otherOf(c);
  const typing = state.typing.get(c._id);
  const status =
    state.status !== "online"
      ? "waiting for the network…"
      : typing && typing.until > Date.now()
        ? `${userName(typing.from)} is typing…`
        : other
          ? state.online.get(other) ? "online" : "offline"
          : "group";
  const input = h("input", {
    id: "composer",
    autocomplete: "off",
    placeholder: state.editing ? "Edit your message" : "Write a message",
    value: state.editing?.body ?? "",
    oninput: () => typingSoon(c._id),
  });
  const file = h("input", { type: "file", id: "attach", class: "visually-hidden", multiple: true, onchange: () => void attach(c._id, file) });
  const list = h("ul", { class: "messages", "aria-label": "Messages" }, ...(state.messages.get(c._id) ?? []).map(renderMessage));
  pane.replaceChildren(
    h(
      "header",
      { class: "chat-head" },
      h("button", { class: "icon back", "aria-label": "Back", onclick: () => closeConversation() }, "←"),
      h("div", {}, h("h2", {}, titleOf(c)), h("p", { class: "status" }, status)),
    ),
    list,
    h(
      "form",
      { class: "composer", onsubmit: (e: Event) => (e.preventDefault(), void submitComposer(c._id, input)) },
      attachLabel(),
      file,
      h("label", { for: "composer", class: "visually-hidden" }, "Message"),
      input,
      state.editing ? h("button", { type: "button", class: "secondary", onclick: () => ((state.editing = null), renderChat()) }, "Cancel") : null,
      h("button", { type: "submit" }, state.editing ? "Save" : "Send"),
    ),
  );
  list.scrollTop = list.scrollHeight;
  if (state.editing) input.focus();
}

/** Re-renders the open chat, keeping the composer's text and focus. */
function refreshChat(): void {
  const input = $("#composer") as HTMLInputElement | null;
  const text = input?.value;
  const focused = document.activeElement === input;
  const list = $(".messages");
  const atBottom = !list || list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const scroll = list?.scrollTop ?? 0;
  renderChat();
  const next = $("#composer") as HTMLInputElement | null;
  if (next && text !== undefined && !state.editing) next.value = text;
  if (next && focused) next.focus();
  const nextList = $(".messages");
  if (nextList && !atBottom) nextList.scrollTop = scroll;
}

// ---------------------------------------------------------------- dialogs

function dialog(label: string, ...children: Child[]): HTMLDialogElement {
  const d = h("dialog", { "aria-label": label }, ...children, h("button", { class: "secondary close", onclick: () => d.close() }, "Close"));
  d.addEventListener("close", () => d.remove());
  document.body.append(d);
  d.showModal();
  return d;
}

function userSearch(label: string, render: (users: UserCard[]) => void): HTMLInputElement {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const input = h("input", { id: "user-search", type: "search", autocomplete: "off", placeholder: "Type a login" });
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const keyword = input.value.trim();
      if (keyword.length === 0) return render([]);
      const { users } = await client.request("user_search", { keyword, limit: 20 });
      for (const u of users) state.users.set(u._id, u);
      render(users);
    }, 200);
  });
  input.dataset.label = label;
  return input;
}

function openNewChat(): void {
  const results = h("ul", { class: "results", "aria-label": "Users found" });
  const search = userSearch("Search users", (users) =>
    results.replaceChildren(
      ...users.map((u) => h("li", {}, h("button", { class: "user", onclick: () => void startPrivate(u._id, d) }, u.login))),
      ...(users.length === 0 && search.value.trim() ? [h("li", { class: "empty" }, "Nobody found")] : []),
    ),
  );
  const d = dialog("New chat", h("h2", {}, "New chat"), h("label", { for: "user-search" }, "Search users"), search, results);
  search.focus();
}

function openNewGroup(): void {
  const picked = new Map<string, string>();
  const chosen = h("p", { class: "chosen" });
  const results = h("ul", { class: "results", "aria-label": "Users found" });
  const showChosen = () => (chosen.textContent = picked.size ? `Members: ${[...picked.values()].join(", ")}` : "No members yet");
  const search = userSearch("Add members", (users) =>
    results.replaceChildren(
      ...users.map((u) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              class: "user",
              onclick: () => {
                if (picked.has(u._id)) picked.delete(u._id);
                else picked.set(u._id, u.login);
                showChosen();
              },
            },
            u.login,
          ),
        ),
      ),
    ),
  );
  const name = h("input", { id: "group-name", required: true, maxlength: 255 });
  const create = async () => {
    if (!name.value.trim() || picked.size === 0) return void (chosen.textContent = "A group needs a name and at least one member.");
    const { conversation } = await client.request("conversation_create", { type: "g", name: name.value.trim(), participants: [...picked.keys()] });
    d.close();
    if (conversation) await addConversation(conversation as Conversation, true);
  };
  showChosen();
  const d = dialog(
    "New group",
    h("h2", {}, "New group"),
    h("label", { for: "group-name" }, "Group name"),
    name,
    h("label", { for: "user-search" }, "Add members"),
    search,
    results,
    chosen,
    h("button", { onclick: () => void create() }, "Create group"),
  );
  name.focus();
}

async function startPrivate(userId: string, d: HTMLDialogElement): Promise<void> {
  const { conversation } = await client.request("conversation_create", { type: "u", participants: [userId] });
  d.close();
  if (conversation) await addConversation(conversation as Conversation, true);
}

// ---------------------------------------------------------------- data

async function knowUsers(ids: Iterable<string>): Promise<void> {
  const missing = [...new Set(ids)].filter((id) => !state.users.has(id));
  if (missing.length === 0) return;
  const { users } = await client.request("get_users_by_ids", { ids: missing.slice(0, 100) });
  for (const u of users) state.users.set(u._id, u);
  const { last_activity } = await client.request("user_last_activity", { ids: missing.slice(0, 100) });
  for (const [id, value] of Object.entries(last_activity)) state.online.set(id, value === 0);
}

async function addConversation(c: Conversation, open = false): Promise<void> {
  const known = state.conversations.get(c._id);
  state.conversations.set(c._id, { ...c, last_message: c.last_message ?? known?.last_message, unread_messages_count: c.unread_messages_count ?? known?.unread_messages_count ?? 0 });
  const other = otherOf(c);
  await knowUsers(other ? [other] : []);
  renderList();
  if (open) await openConversation(c._id);
}

async function reloadAll(): Promise<void> {
  const { conversations } = await client.request("conversation_list", { limit: 30 });
  state.conversations = new Map(conversations.map((c) => [c._id, c]));
  await knowUsers(conversations.flatMap((c) => [otherOf(c), c.last_message?.from].filter((id): id is string => typeof id === "string")));
  renderList();
  if (state.openCid && state.conversations.has(state.openCid)) await loadMessages(state.openCid);
  else closeConversation();
}

async function loadMessages(cid: string): Promise<void> {
  const { messages } = await client.request("message_list", { cid, limit: 50 });
  const pending = client.pending
    .filter((p) => p.cid === cid)
    .map((p): ChatMessage => ({ _id: p.id, clientId: p.id, cid, from: state.me!._id, body: p.body, attachments: p.attachments as Attachment[] | undefined, t: Date.now() / 1000, status: "pending", total: {}, own: new Set() }));
  state.messages.set(cid, [...messages.reverse().map((m) => toChat(m)), ...pending]);
  await loadFileUrls(state.messages.get(cid) ?? []);
  if (state.openCid === cid) refreshChat();
}

async function loadFileUrls(messages: ChatMessage[]): Promise<void> {
  const ids = messages.flatMap((m) => (m.attachments ?? []).map((a) => a.file_id)).filter((id): id is string => typeof id === "string" && !state.fileUrls.has(id));
  if (ids.length === 0) return;
  try {
    for (const [id, url] of Object.entries(await client.fileUrls([...new Set(ids)].slice(0, 100)))) state.fileUrls.set(id, url);
  } catch {
    // A file that is gone shows as its name.
  }
}

async function openConversation(cid: string): Promise<void> {
  state.openCid = cid;
  state.editing = null;
  renderList();
  renderChat();
  await loadMessages(cid);
  markRead(cid);
  const c = state.conversations.get(cid);
  const other = c ? otherOf(c) : null;
  if (other) {
    const { last_activity } = await client.request("user_last_activity_subscribe", { id: other });
    for (const [id, value] of Object.entries(last_activity)) state.online.set(id, value === 0);
    refreshChat();
  }
}

function closeConversation(): void {
  state.openCid = null;
  state.editing = null;
  renderList();
  renderChat();
}

function markRead(cid: string, ids?: string[]): void {
  const c = state.conversations.get(cid);
  if (!c) return;
  if (ids === undefined && c.unread_messages_count === 0) return;
  c.unread_messages_count = 0;
  renderList();
  void client.request("message_read", ids ? { cid, ids } : { cid }).catch(() => undefined);
}

function isVisible(cid: string): boolean {
  return state.openCid === cid && document.visibilityState === "visible";
}

// ---------------------------------------------------------------- actions

/** At most one typing indicator per 3 s, and again at once after a send (the next one is news). */
let lastTyping = 0;
function typingSoon(cid: string): void {
  if (Date.now() - lastTyping < 3_000) return;
  lastTyping = Date.now();
  client.typing(cid);
}

function queueSend(cid: string, content: { body?: string; attachments?: Attachment[] }): void {
  const { id } = client.send({ cid, ...content });
  lastTyping = 0;
  const list = state.messages.get(cid) ?? [];
  list.push({ _id: id, clientId: id, cid, from: state.me!._id, ...content, t: Date.now() / 1000, status: "pending", total: {}, own: new Set() });
  state.messages.set(cid, list);
  const c = state.conversations.get(cid);
  if (c) c.last_message = { _id: id, from: state.me!._id, t: Math.floor(Date.now() / 1000), ...content, status: "sent" };
  renderList();
  refreshChat();
}

async function submitComposer(cid: string, input: HTMLInputElement): Promise<void> {
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  const editing = state.editing;
  if (editing) {
    state.editing = null;
    await client.request("message_edit", { id: editing._id, body: text });
    editing.body = text;
    editing.edited = true;
    refreshChat();
    return;
  }
  queueSend(cid, { body: text });
  ($("#composer") as HTMLInputElement | null)?.focus();
}

async function attach(cid: string, input: HTMLInputElement): Promise<void> {
  for (const file of [...(input.files ?? [])]) {
    try {
      const uploaded = await client.upload(file, file.name);
      queueSend(cid, { attachments: [uploaded] });
      await loadFileUrls(state.messages.get(cid) ?? []);
      refreshChat();
    } catch (err) {
      alert(`Could not upload ${file.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  input.value = "";
}

function startEdit(m: ChatMessage): void {
  state.editing = m;
  renderChat();
}

async function remove(m: ChatMessage): Promise<void> {
  await client.request("message_delete", { cid: m.cid, ids: [m._id], type: "all" });
  state.messages.set(m.cid, (state.messages.get(m.cid) ?? []).filter((x) => x !== m));
  refreshChat();
}

async function react(m: ChatMessage): Promise<void> {
  const has = m.own.has(REACTION);
  await client.request("message_reactions_update", has ? { mid: m._id, remove: REACTION } : { mid: m._id, add: REACTION });
  applyReaction(m, state.me!._id, has ? undefined : REACTION, has ? REACTION : undefined);
  refreshChat();
}

function applyReaction(m: ChatMessage, from: string, add?: string, remove?: string): void {
  if (add) {
    m.total[add] = (m.total[add] ?? 0) + 1;
    if (from === state.me?._id) m.own.add(add);
  }
  if (remove) {
    m.total[remove] = Math.max(0, (m.total[remove] ?? 1) - 1);
    if (from === state.me?._id) m.own.delete(remove);
  }
}

function findMessage(cid: string, id: string): ChatMessage | undefined {
  return state.messages.get(cid)?.find((m) => m._id === id);
}

// ---------------------------------------------------------------- live events

client.on("status", (status) => {
  state.status = status;
  renderBanner();
  refreshChat();
});

client.on("synced", ({ reload }) => {
  if (reload && $(".app")) void reloadAll();
});

client.on("message", async (m) => {
  let c = state.conversations.get(m.cid);
  if (!c) {
    const { conversations } = await client.request("conversation_list", { ids: [m.cid] });
    if (conversations[0]) await addConversation(conversations[0]);
    c = state.conversations.get(m.cid);
    if (!c) return;
  }
  await knowUsers([m.from]);
  c.last_message = { _id: m._id, from: m.from, t: m.t, body: m.body, attachments: m.attachments, status: "sent" };
  c.updated_at = m.created_at;
  const list = state.messages.get(m.cid);
  if (list && !list.some((x) => x._id === m._id)) {
    list.push(toChat(m, "sent"));
    list.sort((a, b) => a.t - b.t);
    await loadFileUrls([list.at(-1)!]);
  }
  const typing = state.typing.get(m.cid);
  if (typing?.from === m.from) state.typing.delete(m.cid);
  if (m.from !== state.me?._id) {
    if (isVisible(m.cid)) markRead(m.cid, [m._id]);
    else c.unread_messages_count += 1;
  }
  renderList();
  if (state.openCid === m.cid) refreshChat();
});

client.on("ack", ({ clientId, ask }) => {
  for (const list of state.messages.values()) {
    const m = list.find((x) => x.clientId === clientId);
    if (!m) continue;
    m._id = ask.server_mid;
    m.t = ask.t;
    // A receipt may have beaten the ask here: never step a status back.
    if (m.status === "pending") m.status = "sent";
    const c = state.conversations.get(m.cid);
    if (c?.last_message?._id === clientId) c.last_message._id = ask.server_mid;
    if (state.openCid === m.cid) refreshChat();
  }
});

client.on("sendFailed", ({ clientId, cid, error }) => {
  state.messages.set(cid, (state.messages.get(cid) ?? []).filter((m) => m.clientId !== clientId));
  refreshChat();
  alert(`Not sent: ${error.message}`);
});

client.on("receipt", (r) => {
  const rank: Record<Tick, number> = { pending: 0, sent: 1, delivered: 2, read: 3 };
  for (const id of r.ids) {
    const m = findMessage(r.cid, id);
    if (m && rank[r.kind] > rank[m.status ?? "sent"]) m.status = r.kind;
    const c = state.conversations.get(r.cid);
    if (c?.last_message?._id === id && rank[r.kind] > rank[c.last_message.status]) c.last_message.status = r.kind;
  }
  if (state.openCid === r.cid) refreshChat();
});

client.on("edit", (e) => {
  const m = findMessage(e.cid, e.id);
  if (m) {
    m.body = e.body;
    m.edited = true;
  }
  const c = state.conversations.get(e.cid);
  if (c?.last_message?._id === e.id) c.last_message.body = e.body;
  renderList();
  if (state.openCid === e.cid) refreshChat();
});

client.on("delete", (e) => {
  state.messages.set(e.cid, (state.messages.get(e.cid) ?? []).filter((m) => !e.ids.includes(m._id)));
  if (state.openCid === e.cid) refreshChat();
});

client.on("reaction", (e) => {
  const m = findMessage(e.cid, e.mid);
  if (!m) return;
  applyReaction(m, e.from, e.add, e.remove);
  if (state.openCid === e.cid) refreshChat();
});

client.on("typing", (e) => {
  if (e.from === state.me?._id) return;
  state.typing.set(e.cid, { from: e.from, until: Date.now() + 4_000 });
  if (state.openCid === e.cid) refreshChat();
  setTimeout(() => state.openCid === e.cid && refreshChat(), 4_100);
});

client.on("presence", ({ userId, online }) => {
  state.online.set(userId, online);
  renderList();
  refreshChat();
});

client.on("conversation", ({ event, conversation }) => {
  if (event === "kicked") {
    state.conversations.delete(conversation._id);
    if (state.openCid === conversation._id) closeConversation();
    renderList();
    return;
  }
  void addConversation({ ...conversation, unread_messages_count: state.conversations.get(conversation._id)?.unread_messages_count ?? 0 });
});

client.on("signedOut", () => renderAuth("Your session ended. Sign in again."));

document.addEventListener("visibilitychange", () => {
  if (state.openCid && document.visibilityState === "visible") markRead(state.openCid);
});

// Presence of everyone in the list, now and then (a subscription follows one user only).
setInterval(() => {
  if (state.status !== "online") return;
  const ids = [...state.conversations.values()].map(otherOf).filter((id): id is string => id !== null);
  if (ids.length === 0) return;
  void client
    .request("user_last_activity", { ids: ids.slice(0, 100) })
    .then(({ last_activity }) => {
      for (const [id, value] of Object.entries(last_activity)) state.online.set(id, value === 0);
      renderList();
    })
    .catch(() => undefined);
}, 30_000);

// ---------------------------------------------------------------- start

client
  .resume()
  .then((user) => (user ? showApp() : renderAuth()))
  .catch(() => renderAuth());
