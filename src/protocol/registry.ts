// Every request Parley answers, by SAMA name. A request's code lives in requests/<name>.ts.
import type { RequestHandler } from "./request";
import { activityStatus } from "./requests/activity_status";
import { blockListEnable, blockUser, listBlockedUsers, unblockUser } from "./requests/block_list";
import { onlineList } from "./requests/online_list";
import { userLastActivity, userLastActivitySubscribe, userLastActivityUnsubscribe } from "./requests/user_last_activity";
import { connect } from "./requests/connect";
import { contactAdd, contactBatchAdd, contactDelete, contactList, contactUpdate } from "./requests/contacts";
import { conversationCreate } from "./requests/conversation_create";
import { conversationDelete } from "./requests/conversation_delete";
import { conversationHandlerCreate, conversationHandlerDelete, getConversationHandler } from "./requests/conversation_handlers";
import { conversationList } from "./requests/conversation_list";
import { conversationSearch } from "./requests/conversation_search";
import { conversationSubscribe, conversationUnsubscribe } from "./requests/conversation_subscribe";
import { conversationUpdate } from "./requests/conversation_update";
import { createFilesRequest, getFileUrls } from "./requests/files";
import { getAdminsByCids, getParticipantsByCids } from "./requests/get_participants_by_cids";
import { getUsersByIds } from "./requests/get_users_by_ids";
import { message } from "./requests/message";
import { messageDelete } from "./requests/message_delete";
import { messageEdit } from "./requests/message_edit";
import { messageList } from "./requests/message_list";
import { messageReactionsList, messageReactionsUpdate } from "./requests/message_reactions";
import { messageRead } from "./requests/message_read";
import { messageSummary } from "./requests/message_summary";
import { messageTone } from "./requests/message_tone";
import { opLogList } from "./requests/op_log_list";
import { ping } from "./requests/ping";
import { pushEventCreate } from "./requests/push_event_create";
import { pushSubscriptionCreate, pushSubscriptionDelete, pushSubscriptionList } from "./requests/push_subscriptions";
import { sync } from "./requests/sync";
import { systemMessage } from "./requests/system_message";
import { typing } from "./requests/typing";
import { userCreate } from "./requests/user_create";
import { userDelete } from "./requests/user_delete";
import { userEdit } from "./requests/user_edit";
import { userLogin } from "./requests/user_login";
import { userLogout } from "./requests/user_logout";
import { userSearch } from "./requests/user_search";
import { userResetPassword } from "./requests/user_reset_password";
import { userSendOtp } from "./requests/user_send_otp";
import { deviceDelete, deviceList, deviceRegister, requestKeys } from "./requests/devices";
import { messageDecryptionFailed } from "./requests/message_decryption_failed";

const handlers = [
  ping,
  connect,
  userCreate,
  userLogin,
  userLogout,
  userEdit,
  userDelete,
  userSearch,
  getUsersByIds,
  conversationCreate,
  conversationUpdate,
  conversationDelete,
  conversationList,
  conversationSearch,
  conversationSubscribe,
  conversationUnsubscribe,
  getParticipantsByCids,
  getAdminsByCids,
  conversationHandlerCreate,
  getConversationHandler,
  conversationHandlerDelete,
  message,
  messageEdit,
  messageDelete,
  messageList,
  messageRead,
  messageReactionsUpdate,
  messageReactionsList,
  messageSummary,
  messageTone,
  typing,
  systemMessage,
  opLogList,
  sync,
  userLastActivitySubscribe,
  userLastActivityUnsubscribe,
  userLastActivity,
  onlineList,
  activityStatus,
  blockUser,
  unblockUser,
  listBlockedUsers,
  blockListEnable,
  contactAdd,
  contactBatchAdd,
  contactUpdate,
  contactDelete,
  contactList,
  createFilesRequest, getFileUrls,
  pushSubscriptionCreate,
  pushSubscriptionList,
  pushSubscriptionDelete,
  pushEventCreate,
  userSendOtp,
  userResetPassword,
  deviceRegister,
  deviceList,
  requestKeys,
  deviceDelete,
  messageDecryptionFailed,
] as const satisfies readonly RequestHandler[];

/** Every request definition as a type (src/protocol/wire.ts derives the client's types from it). */
export type RequestDefinition = (typeof handlers)[number];

export const requestHandlers: ReadonlyMap<string, RequestHandler> = new Map(handlers.map((h) => [h.name, h]));
