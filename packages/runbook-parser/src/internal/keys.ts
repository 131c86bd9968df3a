/** `requiresApproval`, `requires-approval` and `Requires_Approval` all mean `requires_approval`. */
const normalizedKeys = new Map<string, string>();
export function normalizeKey(key: string): string {
  const cached = normalizedKeys.get(key);
  if (cached !== undefined) return cached;
  const normalized = key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[-\s]+/g, "_");
  if (normalizedKeys.size < 1000) normalizedKeys.set(key, normalized);
  return normalized;
}
