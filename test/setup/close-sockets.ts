import { afterEach } from "vitest";
import { closeAllSockets } from "../helpers/socket";

afterEach(closeAllSockets);
