import { isRunwardenError, type RunwardenError } from "@runwarden/core";

/** The RunwardenError `fn` throws; fails the test when it throws nothing or something else. */
export function thrown(fn: () => unknown): RunwardenError {
  try {
    fn();
  } catch (error) {
    if (isRunwardenError(error)) return error;
    throw error;
  }
  throw new Error("expected a throw");
}
