/**
 * categorize: keyword rules over title (weight 2) and description (weight 1), plus hints from the
 * error codes found. The category with the highest weight wins; ties go to the earlier category.
 */
import { maskHosts } from "./entities.js";
import type { AnalyzerStage } from "./stage.js";

/** The categories the built-in categorize stage assigns, `other` when no rule fires. */
export const categories = [
  "database",
  "disk",
  "cpu",
  "memory",
  "network",
  "certificate",
  "security",
  "application",
  "other",
] as const;
/**
 * A ticket category: `database`, `disk`, `cpu`, `memory`, `network`, `certificate`, `security`,
 * `application` or `other`.
 */
export type Category = (typeof categories)[number];

interface Rule {
  category: Exclude<Category, "other">;
  pattern: RegExp;
  /** Error codes (as the extract stage spells them) that point at this category. */
  codes?: RegExp;
  /** Generic categories count for less, so a specific one wins when both match. Default 1. */
  factor?: number;
}

const words = (list: string) =>
  new RegExp(
    `\\b(?:${list
      .trim()
      .split(/\s*\|\s*/)
      .join("|")})\\b`,
    "i",
  );

const rules: readonly Rule[] = [
  {
    category: "database",
    pattern: words(
      "database | db | postgres\\w* | mysql | mariadb | oracle | sql | replica\\w* | replication | deadlock | " +
        "max_connections | too many connections | connection pool | pg_\\w+ | wal\\b | tablespace | query",
    ),
    codes: /^(?:ORA-|TNS-|ERROR \d|SQLSTATE)/,
  },
  {
    category: "disk",
    pattern: words(
      "disk | filesystem | file system | inode\\w* | no space left | volume | partition | mount\\w* | storage full | iops | \\d+% full",
    ),
    codes: /^(?:ENOSPC|EDQUOT|EROFS)$/,
  },
  {
    category: "cpu",
    pattern: words("cpu | load average | high load | throttl\\w* | processor | steal time | run queue"),
  },
  {
    category: "memory",
    pattern: words(
      "memory | oom\\w* | out of memory | heap | swap\\w* | rss | memory leak | maxmemory | evictions? | gc overhead",
    ),
    codes: /(?:OutOfMemoryError|^ENOMEM$|^exit 137$)/,
  },
  {
    category: "certificate",
    pattern: words("certificate | cert | tls | ssl | x509 | expir\\w* cert | handshake | ca bundle"),
    codes: /^ERR_CERT/,
  },
  {
    category: "network",
    pattern: words(
      "network | connection refused | unreachable | timed? ?out | timeout | dns | packet loss | latency | firewall | " +
        "socket | port | bgp | load balancer | 50[234]",
    ),
    codes:
      /^(?:ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|HTTP 50[234])$/,
  },
  {
    category: "security",
    pattern: words(
      "security | unauthori[sz]ed | forbidden | brute force | intrusion | malware | vulnerab\\w* | cve-\\d+ | " +
        "breach | suspicious | locked out | account locked | locked | failed logins? | phishing | ransomware",
    ),
    codes: /^(?:EACCES|EPERM|HTTP 40[13])$/,
  },
  {
    category: "application",
    pattern: words(
      "service | application | app | api | deploy\\w* | release | crash\\w* | exception | error rate | 5xx | " +
        "worker | job | queue | process | pod | container | restart\\w* | health check | readiness | liveness",
    ),
    codes: /(?:Exception$|^HTTP 5\d\d$|^exit \d+$)/,
    factor: 0.5,
  },
];

export interface CategoryResult {
  category: Category;
  reasons: string[];
}

/** Scores each category's rules against the text; the best wins, "other" when none matched. */
export function categorize(
  title: string,
  description: string,
  errorCodes: readonly string[] = [],
): CategoryResult {
  let best: Rule | undefined;
  let bestWeight = 0;
  let bestReasons: string[] = [];
  const text = maskHosts(title);
  const desc = maskHosts(description.length > 4_000 ? description.slice(0, 4_000) : description);
  for (const rule of rules) {
    let weight = 0;
    const reasons: string[] = [];
    const inTitle = rule.pattern.exec(text);
    if (inTitle) {
      weight += 2;
      reasons.push(`keyword '${inTitle[0].toLowerCase()}' in title`);
    }
    const inDescription = desc ? rule.pattern.exec(desc) : null;
    if (inDescription) {
      weight += 1;
      reasons.push(`keyword '${inDescription[0].toLowerCase()}' in description`);
    }
    if (rule.codes) {
      const code = errorCodes.find((c) => rule.codes?.test(c));
      if (code) {
        weight += 1;
        reasons.push(`error code ${code}`);
      }
    }
    weight *= rule.factor ?? 1;
    if (weight > bestWeight) {
      best = rule;
      bestWeight = weight;
      bestReasons = reasons;
    }
  }
  return best
    ? { category: best.category, reasons: bestReasons }
    : { category: "other", reasons: ["no category keyword"] };
}

export const categorizeStage: AnalyzerStage = {
  name: "categorize",
  run(state, { note }) {
    const { category, reasons } = categorize(
      state.ticket.title,
      state.ticket.description,
      state.entities.errorCodes,
    );
    state.category = category;
    note(`${category}: ${reasons.join("; ")}`);
  },
};
