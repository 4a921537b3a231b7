// Every request Parley answers, by SAMA name. A request's code lives in requests/<name>.ts.
import type { RequestHandler } from "./request";
import { connect } from "./requests/connect";
import { getUsersByIds } from "./requests/get_users_by_ids";
import { ping } from "./requests/ping";
import { userCreate } from "./requests/user_create";
import { userDelete } from "./requests/user_delete";
import { userEdit } from "./requests/user_edit";
import { userLogin } from "./requests/user_login";
import { userLogout } from "./requests/user_logout";
import { userSearch } from "./requests/user_search";

const handlers: readonly RequestHandler[] = [
  ping,
  connect,
  userCreate,
  userLogin,
  userLogout,
  userEdit,
  userDelete,
  userSearch,
  getUsersByIds,
];

export const requestHandlers: ReadonlyMap<string, RequestHandler> = new Map(handlers.map((h) => [h.name, h]));
