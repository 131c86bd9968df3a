import { isExecutableLanguage, normalizeLanguage } from "../internal/languages.js";
import { defineAnnotation } from "./types.js";

/** `language: sql`: the language of the command (a list item's defaults to sh). */
export default defineAnnotation({
  key: "language",
  aliases: ["lang"],
  read(value, into) {
    const language = typeof value === "string" ? normalizeLanguage(value.trim()) : "";
    if (!/^[a-z0-9][a-z0-9_+.-]*$/.test(language) || !isExecutableLanguage(language))
      return "expected the language of the command, such as sh, sql, http or powershell";
    into.language = language;
    return undefined;
  },
});
