/**
 * The name a step gets when it has no `name` annotation: a slug of its command's first line, with
 * a path reduced to its file name (`./bin/restart_db_service.sh --now` → `restart_db_service.sh-now`).
 */
export function deriveStepName(command: string): string {
  const firstLine = command.split("\n").find((line) => line.trim().length > 0) ?? "";
  const words = firstLine
    .replace(/\\?\{\{[^}]*\}\}/g, " ")
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  if (words.length > 0) {
    const first = words[0]!;
    const slash = first.lastIndexOf("/");
    if (slash !== -1 && slash < first.length - 1) words[0] = first.slice(slash + 1);
  }
  let slug = words
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[-._]+|[-._]+$/g, "");
  if (slug.length > 48) {
    const cut = slug.lastIndexOf("-", 48);
    slug = slug.slice(0, cut > 16 ? cut : 48).replace(/[-._]+$/, "");
  }
  return slug.length > 0 ? slug : "step";
}

/**
 * Gives every step a unique name: explicit names are kept (duplicates among them are the
 * caller's to report); a derived name that is taken gets `-2`, `-3`, … appended.
 */
export function assignStepNames(
  steps: readonly { explicitName?: string | undefined; command: string }[],
): string[] {
  const taken = new Set<string>();
  for (const step of steps) if (step.explicitName !== undefined) taken.add(step.explicitName);
  return steps.map((step) => {
    if (step.explicitName !== undefined) return step.explicitName;
    const base = deriveStepName(step.command);
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
    taken.add(name);
    return name;
  });
}
