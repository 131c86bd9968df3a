/** A broken contract rule: what the suite's tests fail with, named by a stable rule id. */
export class ContractViolation extends Error {
  override readonly name = "ContractViolation";
  constructor(
    /** The rule broken, such as `contract/abort-exec` (listed in the testkit README). */
    readonly rule: string,
    message: string,
  ) {
    super(`[${rule}] ${message}`);
  }
}

/** Throws a ContractViolation for `rule`. */
export function violation(rule: string, message: string): never {
  throw new ContractViolation(rule, message);
}
