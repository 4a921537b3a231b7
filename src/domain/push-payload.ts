/**
 * What a notification carries. Messages use SAMA's {title, body, cid, firstAttachmentUrl,
 * is_encrypted}; push_event_create sends the client's {title, topic, body, message} as given.
 * Here, not in push/, because a Conversation builds it and a delivery carries it.
 */
export interface PushPayload {
  title?: string;
  body?: string;
  cid?: string;
  firstAttachmentUrl?: string | null;
  is_encrypted?: boolean;
  topic?: string;
  message?: string;
}
