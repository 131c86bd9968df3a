import { detachedText } from "./detached-text.js";
import { duplicateAnnotation } from "./duplicate-annotation.js";
import { duplicateSection } from "./duplicate-section.js";
import { duplicateStep } from "./duplicate-step.js";
import { emptyPhase } from "./empty-phase.js";
import { ignoredCompensation } from "./ignored-compensation.js";
import { invalidFrontMatter } from "./invalid-front-matter.js";
import { invalidTemplate } from "./invalid-template.js";
import { invalidValue } from "./invalid-value.js";
import { malformedAnnotation } from "./malformed-annotation.js";
import { missingCommand } from "./missing-command.js";
import { missingMain } from "./missing-main.js";
import { missingRollback } from "./missing-rollback.js";
import { missingTitle } from "./missing-title.js";
import type { Rule } from "./types.js";
import { unknownAnnotation } from "./unknown-annotation.js";
import { unknownMetadata } from "./unknown-metadata.js";
import { unknownSection } from "./unknown-section.js";
import { unsafeRegex } from "./unsafe-regex.js";
import { unsafeStep } from "./unsafe-step.js";
import { unsafeTemplateContext } from "./unsafe-template-context.js";

/**
 * Every rule, in the order they run. Diagnostics are sorted by line and column afterwards; this
 * order only decides which of two diagnostics at the same place comes first, so keep a new rule's
 * place stable (append it unless it must come before another at the same place).
 */
export const rules: readonly Rule[] = [
  invalidFrontMatter,
  unknownMetadata,
  unknownSection,
  duplicateSection,
  detachedText,
  malformedAnnotation,
  unknownAnnotation,
  duplicateAnnotation,
  invalidValue,
  missingCommand,
  ignoredCompensation,
  unsafeTemplateContext,
  invalidTemplate,
  unsafeStep,
  unsafeRegex,
  missingTitle,
  duplicateStep,
  missingMain,
  emptyPhase,
  missingRollback,
];
