import { defineAnnotation } from "./types.js";
import { parseName } from "./values.js";

/** `connection: prod-db-01`: the infrastructure connection the step runs on. */
export default defineAnnotation({
  key: "connection",
  read(value, into) {
    const connection = parseName(value);
    if (connection === undefined)
      return "expected the name of an infrastructure connection, such as prod-db-01";
    into.connection = connection;
    return undefined;
  },
});
