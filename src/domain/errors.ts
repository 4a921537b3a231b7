// SAMA's error table (SAMA-PROTOCOL.md §1.7): statuses and messages kept byte for byte, because
// clients show or match them. Parley's own additions follow the same style.

export interface ErrorBody {
  status: number;
  message: string;
}

function e(status: number, message: string): ErrorBody {
  return { status, message };
}

export const Errors = {
  UNAUTHORIZED: e(401, "Unauthorized."),
  FORBIDDEN: e(403, "Forbidden."),
  BAD_REQUEST: e(400, "Bad Request."),
  INVALID_DATA_FORMAT: e(400, "Bad request - invalid data format"),
  INCORRECT_TYPE: e(422, "The type you entered is incorrect."),
  ORG_NOT_FOUND: e(404, "Organization not found"),
  INCORRECT_TOKEN: e(422, "Incorrect token."),
  TOKEN_EXPIRED: e(422, "The token has expired."),
  ROUTE_NOT_FOUND: e(404, "Route not found"),
  USER_ID_MISSED: e(422, "User ID missed."),
  USER_NOT_FOUND: e(422, "We couldn't find the specified user."),
  USER_LOGIN_OR_PASS: e(422, "The 'login' or 'password' field is missing."),
  USER_ALREADY_EXISTS: e(422, "The provided data is already associated with an existing user account."),
  INCORRECT_USER: e(422, "The specified user is incorrect."),
  INCORRECT_PASSWORD: e(422, "The password entered is incorrect."),
  INCORRECT_LOGIN: e(422, "The login provided is incorrect."),
  INCORRECT_CURRENT_PASSWORD: e(401, "The current password you entered is incorrect."),
  INCORRECT_LOGIN_OR_PASSWORD: e(401, "Incorrect username or password."),
  DEVICE_ID_MISSED: e(422, "'device_id' is required."),
  MISSING_AUTH_CREDENTIALS: e(401, "Missing authentication credentials."),
  USER_SELECTED: e(422, "Please select at least one user."),
  TOO_MANY_USERS_IN_PRIVATE: e(422, "There are too many users in the private conversation."),
  TOO_MANY_USERS_IN_GROUP: e(422, "There are too many users in the group conversation."),
  CONVERSATION_NOT_FOUND: e(404, "Conversation not found."),
  CONVERSATION_NAME_MISSED: e(422, "You haven't specified a conversation name."),
  CONVERSATION_TYPE_MISSED: e(422, "Conversation type missed."),
  PARTICIPANTS_NOT_PROVIDED: e(422, "Participants not provided."),
  PARTICIPANT_NOT_FOUND: e(404, "ConversationParticipant not found."),
  PARTICIPANTS_LIMIT: e(422, "You've reached the maximum participant limit."),
  MESSAGE_ID_NOT_FOUND: e(422, "Message ID not found."),
  MESSAGE_ID_MISSED: e(422, "Message ID missed."),
  INCORRECT_MESSAGE_ID: e(422, "Incorrect message ID."),
  INCORRECT_REPLY_MESSAGE_ID: e(422, "Incorrect replied message ID."),
  MESSAGE_TYPE_MISSED: e(422, "Message type missed."),
  MESSAGE_BODY_AND_ATTACHMENTS_EMPTY: e(422, "Either message body or attachments required."),
  USER_BLOCKED: e(422, "Communication is not possible - you are in a block list of the recipient."),
  LOG_TIMESTAMP_MISSED: e(422, "Gt or lt query missed."),
  CID_REQUIRED: e(422, "'cid' field is required."),
  CIDS_REQUIRED: e(422, "'cids' field is required."),
  CID_OR_UIDS_REQUIRED: e(422, "'cid' or 'uids' field is required."),
  X_REQUIRED: e(422, "'x' field is required."),
  UIDS_MAX_LENGTH: e(422, "'uids' max length 20"),
  INTERNAL_SERVER: e(500, "Internal server error."),
  // Parley additions.
  TOO_MANY_REQUESTS: e(429, "Too many requests."),
  TOO_MANY_LOGIN_ATTEMPTS: e(429, "Too many failed login attempts. Try again later."),
  FRAME_TOO_LARGE: e(413, "Request is too large."),
  TOO_MANY_USERS_IN_REQUEST: e(422, "Too many users in one request."),
  PUSH_SUBSCRIPTIONS_LIMIT: e(422, "You've reached the maximum number of push subscriptions."),
  CONTACTS_LIMIT: e(422, "You've reached the maximum number of contacts."),
  CANNOT_BLOCK_SELF: e(422, "Can't block self user."),
  ORG_NAME_TAKEN: e(422, "An organization with this name already exists."),
  // Files: SAMA's messages; FILE_NOT_FOUND is Parley's wording of SAMA's bare "Can't find file".
  FILE_IDS_MISSED: e(422, "File IDS missed."),
  FILE_LIMIT_EXCEEDED: e(422, "You've exceeded the file limit."),
  FILE_IDS_EXCEEDED: e(422, "File IDs for get download url exceeded."),
  INCORRECT_FILE_NAME: e(422, "Incorrect file name."),
  INCORRECT_FILE_SIZE: e(422, "Incorrect file size."),
  INCORRECT_CONTENT_TYPE: e(422, "Incorrect content type."),
  FILE_NOT_FOUND: e(422, "Can't find file."),
  // Address book: SAMA's messages.
  CONTACT_NOT_FOUND: e(422, "Contact not found."),
  CONTACT_ID_MISSED: e(422, "Contact id is missed."),
  FULLNAME_IS_MISSED: e(422, "'first_name' or 'last_name' is missed."),
  EMAIL_OR_PHONE_IS_MISSED: e(422, "Email or phone is missed."),
  // Push notifications: SAMA's messages.
  INCORRECT_PLATFORM_TYPE: e(422, "Incorrect platform type."),
  INCORRECT_DEVICE_ID: e(422, "Incorrect device id."),
  INCORRECT_KEYS: e(422, "Incorrect keys."),
  INCORRECT_RECIPIENTS_IDS: e(422, "Incorrect recipients IDs."),
  RECIPIENTS_NOT_FOUND: e(422, "Recipients not found."),
  NOTIFICATION_MESSAGE_MISSED: e(422, "Notification message missed."),
  NOTIFICATION_NOT_FOUND: e(422, "Push notification record not found."),
  // Password reset: SAMA's messages, then Parley's cooldown (SAMA has none).
  INCORRECT_OTP_TOKEN: e(403, "Incorrect token for password recovery."),
  MISSING_OTP_SENDER_SERVICE: e(401, "Failed to create OTP sender transporter."),
  OTP_RESEND_COOLDOWN: e(429, "A password recovery code was sent recently. Try again later."),
  OTP_EMAIL_FAILED: e(503, "The password recovery email could not be sent. Try again later."),
  // E2EE: SAMA's messages, then Parley's rule that only private chats are encrypted.
  INCORRECT_IDENTITY_KEY: e(422, "Incorrect identity device key."),
  INCORRECT_SIGNED_KEY: e(422, "Incorrect signed key."),
  INCORRECT_ONE_TIME_PRE_KEYS: e(422, "Incorrect one time pre keys."),
  INCORRECT_USER_ID: e(422, "Incorrect user id."),
  INCORRECT_USERS_ARRAY: e(422, "Incorrect users array."),
  ENCRYPTION_PRIVATE_ONLY: e(422, "Only private conversations can be encrypted."),
  // Conversation handlers: SAMA's messages; HANDLER_FAILED is Parley's (a run stopped by its budgets).
  HANDLER_NOT_FOUND: e(422, "Handler for this conversation not found."),
  INCORRECT_TYPE_OF_BODY: e(422, "Incorrect type of message body."),
  INVALID_ATTACHMENT_FIELDS: e(422, "Invalid attachment fields."),
  MESSAGE_BLOCKED_BY_HANDLER: e(422, "Message blocked by conversation rules."),
  HANDLER_FAILED: e(422, "Message blocked: the conversation handler failed."),
  // message_summary / message_tone: SAMA's AI_AGENT_ERROR; the other two are Parley's (SAMA has one provider, always there).
  AI_AGENT_ERROR: e(500, "An error occurred while processing messages with the AI agent."),
  AI_NOT_CONFIGURED: e(501, "No AI provider is configured on this server."),
  AI_TIMEOUT: e(504, "The AI agent did not answer in time."),
} as const satisfies Record<string, ErrorBody>;

/** A failure with a SAMA status and message; anything else thrown is reported as a 500. */
export class SamaError extends Error {
  readonly status: number;
  constructor(body: ErrorBody) {
    super(body.message);
    this.name = "SamaError";
    this.status = body.status;
  }
  toBody(): ErrorBody {
    return { status: this.status, message: this.message };
  }
}

export function unknownRequest(name: string): ErrorBody {
  return e(400, `Unknown request: ${name}`);
}

const statusByMessage = new Map<string, number>(Object.values(Errors).map((b) => [b.message, b.status]));

/** Status of a validation message: SAMA's own status for its table messages, else 422. */
export function statusOfMessage(message: string): number {
  return statusByMessage.get(message) ?? 422;
}
