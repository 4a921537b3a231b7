import * as shapes from "../shapes";
import { z } from "zod";
import { pairKey, type ConversationMeta, type ConversationType, type Participant } from "../../domain/conversation";
import { newObjectId } from "../../domain/object-id";
import { withImageUrls } from "../../services/avatar-urls";
import { isBlockedPair } from "../../services/blocks";
import { requireUsableFile } from "../../services/files";
import { conversationStub } from "../../objects/stubs";
import { actorOf, findConversationMeta, findPrivateConversationId, insertConversation, userCards } from "../../services/conversations";
import type { AuthedContext } from "../context";
import { Errors, SamaError } from "../../domain/errors";
import { imageObject } from "../fields";
import { authedRequest } from "../request";
import { samaMessage } from "../validation";

const schema = z
  .strictObject({
    type: z.enum(["u", "g", "c"], {
      error: (issue) => (issue.input === undefined ? Errors.CONVERSATION_TYPE_MISSED.message : Errors.INCORRECT_TYPE.message),
    }),
    name: z.string(samaMessage(Errors.CONVERSATION_NAME_MISSED)).max(255).optional(),
    description: z.string().max(255).optional(),
    participants: z.array(z.string(), samaMessage(Errors.USER_SELECTED)).optional(),
    opponent_id: z.string().optional(),
    owner_id: z.string().optional(), // ignored: the owner is always the caller
    image_object: imageObject.optional(),
    is_encrypted: z.boolean().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.type !== "u" && (p.name === undefined || p.name.trim() === "")) ctx.addIssue({ code: "custom", message: Errors.CONVERSATION_NAME_MISSED.message });
    else if (p.type !== "c" && (p.participants === undefined || p.participants.length === 0)) ctx.addIssue({ code: "custom", message: Errors.USER_SELECTED.message });
    // SAMA encrypts private chats only (§3.11): a group or channel has no per-pair key exchange.
    else if (p.is_encrypted === true && p.type !== "u") ctx.addIssue({ code: "custom", message: Errors.ENCRYPTION_PRIVATE_ONLY.message });
  });

type Params = z.output<typeof schema>;

async function createPrivate(ctx: AuthedContext, params: Params, others: string[]) {
  const me = ctx.session.userId;
  if (others.length > 1) throw new SamaError(Errors.TOO_MANY_USERS_IN_PRIVATE);
  const opponentId = params.opponent_id ?? others[0];
  if (opponentId === undefined || opponentId === me) throw new SamaError(Errors.INCORRECT_USER);
  const cards = await userCards(ctx, ctx.session.organizationId, [me, opponentId]);
  if (cards.length !== 2) throw new SamaError(Errors.INCORRECT_USER);
  const isEncrypted = params.is_encrypted ?? false;
  const existing = await findPrivateConversationId(ctx, ctx.session.organizationId, pairKey(me, opponentId, isEncrypted));
  if (existing) return restore(ctx, existing, cards);
  const meta = newMeta(ctx, params, "u", opponentId);
  const participants: Participant[] = cards.map((c) => ({ userId: c.userId, role: c.userId === me ? "owner" : null, name: c.name }));
  const cid = await insertConversation(ctx, meta, participants);
  if (cid !== meta.id) return restore(ctx, cid, cards);
  // Announced to the opponent (SAMA's web app shows the chat from the event), never pushed (SAMA: g/c only).
  const stub = conversationStub(ctx.env, cid);
  const view = await stub.setup(meta, participants, actorOf(ctx), false);
  const readAt = Date.now();
  if (await isBlockedPair(ctx, me, opponentId)) await stub.setBlocked(true, readAt);
  return { conversation: view };
}

async function restore(ctx: AuthedContext, cid: string, cards: Awaited<ReturnType<typeof userCards>>) {
  const stub = conversationStub(ctx.env, cid);
  const view = await stub.restore(actorOf(ctx), cards);
  if (view) return { conversation: view };
  // The directory has the chat but its object was never set up (a create that failed half-way): set it up now.
  const meta = await findConversationMeta(ctx, ctx.session.organizationId, cid);
  if (!meta) throw new SamaError(Errors.CONVERSATION_NOT_FOUND);
  const participants: Participant[] = cards.map((c) => ({ userId: c.userId, role: c.userId === meta.ownerId ? "owner" : null, name: c.name }));
  return { conversation: await stub.setup(meta, participants, actorOf(ctx), false) };
}

function newMeta(ctx: AuthedContext, params: Params, type: ConversationType, opponentId: string | null): ConversationMeta {
  return {
    id: newObjectId(ctx.now),
    organizationId: ctx.session.organizationId,
    type,
    name: params.name ?? null,
    description: params.description ?? null,
    ownerId: ctx.session.userId,
    opponentId,
    imageObject: params.image_object ?? null,
    isEncrypted: params.is_encrypted ?? false,
    createdAt: ctx.now,
    updatedAt: ctx.now,
  };
}

async function create(ctx: AuthedContext, params: Params) {
  const me = ctx.session.userId;
  const others = [...new Set(params.participants ?? [])].filter((id) => id !== me);
  if (params.type === "u") return createPrivate(ctx, params, others);
  // SAMA counts the list as sent (repeats and unknown ids too), and Parley the members with the owner.
  const max = ctx.config.conversationMaxParticipants;
  if (params.type === "g" && ((params.participants?.length ?? 0) > max || others.length + 1 > max)) throw new SamaError(Errors.TOO_MANY_USERS_IN_GROUP);
  // Channels have no member cap; this bounds what one request looks up and writes.
  if (others.length > ctx.config.participantsPerRequestMax) throw new SamaError(Errors.TOO_MANY_USERS_IN_REQUEST);
  const cards = await userCards(ctx, ctx.session.organizationId, [me, ...others]);
  const members = cards.filter((c) => c.userId !== me);
  if (params.type === "g" && members.length === 0) throw new SamaError(Errors.PARTICIPANTS_NOT_PROVIDED);
  const meta = newMeta(ctx, params, params.type, null);
  const participants: Participant[] = cards.map((c) => ({ userId: c.userId, role: c.userId === me ? "owner" : null, name: c.name }));
  await insertConversation(ctx, meta, participants);
  return { conversation: await conversationStub(ctx.env, meta.id).setup(meta, participants, actorOf(ctx), true) };
}

const conversationCreateDoc = {
  summary: "Creates a private chat (idempotent per pair), a group or a channel; the caller owns it.",
  reply: z.strictObject({ conversation: shapes.conversation }),
  errors: [
    Errors.CONVERSATION_TYPE_MISSED,
    Errors.INCORRECT_TYPE,
    Errors.CONVERSATION_NAME_MISSED,
    Errors.USER_SELECTED,
    Errors.ENCRYPTION_PRIVATE_ONLY,
    Errors.TOO_MANY_USERS_IN_PRIVATE,
    Errors.INCORRECT_USER,
    Errors.TOO_MANY_USERS_IN_GROUP,
    Errors.TOO_MANY_USERS_IN_REQUEST,
    Errors.PARTICIPANTS_NOT_PROVIDED,
    Errors.CONVERSATION_NOT_FOUND,
    Errors.FILE_NOT_FOUND,
  ],
};

export const conversationCreate = authedRequest("conversation_create", schema, conversationCreateDoc, async (ctx, params) => {
  if (params.image_object) await requireUsableFile(ctx, ctx.session, params.image_object.file_id, "visible");
  const { conversation } = await create(ctx, params);
  const [withImage] = await withImageUrls(ctx, ctx.session.organizationId, [conversation]);
  return { conversation: withImage };
});
