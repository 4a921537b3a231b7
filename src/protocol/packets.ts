// Every packet the server pushes on its own (not a reply), as `{"<name>": body}`: what the AsyncAPI
// document lists under "receive". test/ws/asyncapi.test.ts checks real packets against these shapes.
import { z } from "zod";
import * as shapes from "./shapes";

const eventSeq = z.number().int().meta({ description: "Parley: this packet's place in the recipient's event log (a sync cursor)" });
const cType = z.enum(["u", "g", "c"]);
const ids = z.array(z.string());

/** Fields of a logged packet: it also reaches `sync` and `op_log_list`, and carries its event_seq when it comes from the recipient's log. */
const logged = { event_seq: eventSeq.optional() };

const conversationEvent = (name: string, description: string) =>
  z.strictObject({ [name]: shapes.conversation }).meta({ description });

export interface ServerPacket {
  summary: string;
  /** The value under the packet's name. */
  body: z.ZodType;
  /** Kept in the recipient's event log (sync, op_log_list) and retried until the Inbox has it. */
  logged: boolean;
}

export const serverPackets: Readonly<Record<string, ServerPacket>> = {
  message: {
    summary:
      "A new message in a conversation of the recipient (the sender's other devices get it too). Members joining, leaving or removed arrive as messages with `x.type` added_participant, removed_participant or left_participants and `x.user`.",
    body: shapes.pushedMessage.extend(logged),
    logged: true,
  },
  message_edit: {
    summary: "A message's body was changed by its author.",
    body: z.strictObject({ id: z.string(), cid: z.string(), c_type: cType, from: z.string(), body: z.string(), ...logged }),
    logged: true,
  },
  message_delete: {
    summary: "Messages were deleted for everyone (`type: \"all\"`).",
    body: z.strictObject({ ids, cid: z.string(), c_type: cType, from: z.string(), type: z.literal("all"), ...logged }),
    logged: true,
  },
  message_read: {
    summary: "To a message's author: `from` read these of their messages.",
    body: z.strictObject({ ids, cid: z.string(), from: z.string(), ...logged }),
    logged: true,
  },
  message_delivered: {
    summary: "Parley: to a message's author: these of their messages reached a live device of `from`.",
    body: z.strictObject({ ids, cid: z.string(), from: z.string(), ...logged }),
    logged: true,
  },
  message_reactions_update: {
    summary: "A reaction was added and/or removed on a message (`add`/`remove` only when that change happened).",
    body: z.strictObject({ mid: z.string(), cid: z.string(), c_type: cType, from: z.string(), add: z.string().optional(), remove: z.string().optional(), ...logged }),
    logged: true,
  },
  message_decryption_failed: {
    summary: "To a message's author: `from` could not decrypt these messages (encrypted private chats).",
    body: z.strictObject({ ids, cid: z.string(), from: z.string(), ...logged }),
    logged: true,
  },
  typing: {
    summary: "A participant is typing (live only, never logged).",
    body: z.strictObject({ cid: z.string(), c_type: cType, from: z.string(), t: z.number().int(), status: z.string().optional() }),
    logged: false,
  },
  last_activity: {
    summary: "The user watched with user_last_activity_subscribe went online (0) or offline (last seen, Unix seconds). Live only.",
    body: shapes.lastActivity,
    logged: false,
  },
  system_message: {
    summary:
      "A custom event from a user (system_message request: `x` as sent, `cid` when sent to a conversation), or a conversation event: `x.conversation_created` (a new conversation, private chats included), `x.conversation_updated`, `x.conversation_kicked` with the conversation, or `x.conversation_handler_disabled` to the owner.",
    body: z.strictObject({
      _id: z.string().meta({ description: "The sender's id for the event; the conversation id for conversation events" }),
      from: z.string(),
      t: z.number().int(),
      cid: z.string().optional(),
      x: z.union([
        conversationEvent("conversation_created", "A conversation the recipient is in was created (or restored)"),
        conversationEvent("conversation_updated", "A conversation the recipient is in changed, or the recipient was added"),
        conversationEvent("conversation_kicked", "The recipient was removed from the conversation"),
        z.strictObject({
          conversation_handler_disabled: z.strictObject({ cid: z.string(), failures: z.number().int(), reason: z.string() }),
        }).meta({ description: "Parley: the conversation's handler was switched off after repeated failures" }),
        z.looseObject({}).meta({ description: "A user's custom event, as sent" }),
      ]),
      ...logged,
    }),
    logged: true,
  },
};
