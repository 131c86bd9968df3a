/**
 * The runbook matching index. Retrieval is a BM25+ search (minisearch) over each runbook's title,
 * match keywords, description and step text; the front matter `match` block then filters the hits
 * (services, environments, severities, sources) and adds evidence (keywords, patterns). Nothing
 * scans every runbook: a ticket costs one index lookup plus work on at most `retrieve` hits.
 *
 * Scoring: each piece of evidence has a strength in [0,1] and they are combined as a noisy-OR,
 * `1 - Π(1 - s)`, so the score stays in [0,1], never falls when evidence is added, and each
 * reason can be read on its own.
 */
import MiniSearch, { type SearchResult } from "minisearch";
import { stemmer } from "stemmer";
import type { RunbookCandidate, RunbookRecord, TicketSeverity } from "../domain.js";

/** The parts of a parsed runbook the index reads (a structural subset of the parser's `Runbook`). */
export interface IndexablePlan {
  title: string;
  description?: string | undefined;
  metadata: {
    autoExecute?: boolean | undefined;
    match?:
      | {
          services?: string[] | undefined;
          environments?: string[] | undefined;
          severities?: string[] | undefined;
          sources?: string[] | undefined;
          keywords?: string[] | undefined;
          titlePattern?: string | undefined;
          descriptionPattern?: string | undefined;
        }
      | undefined;
  };
  phases: Record<string, readonly { name: string; command: string; description?: string | undefined }[]>;
}

/** What a ticket is matched on. */
export interface MatchQuery {
  title: string;
  description: string;
  service: string;
  environment: string;
  severity: TicketSeverity;
  source: string;
}

/** A ranked candidate, plus whether its runbook allows auto-execution (front matter `auto_execute`). */
export interface RunbookMatch {
  candidate: RunbookCandidate;
  autoExecute: boolean;
}

interface Entry {
  record: Pick<RunbookRecord, "id" | "key" | "revision" | "title" | "status">;
  autoExecute: boolean;
  services: ReadonlySet<string> | null;
  environments: ReadonlySet<string> | null;
  severities: ReadonlySet<string> | null;
  sources: ReadonlySet<string> | null;
  keywords: readonly string[];
  titlePattern: RegExp | null;
  descriptionPattern: RegExp | null;
  /** The runbook says what it is for (keywords or patterns): text alone counts for less. */
  described: boolean;
  terms: readonly string[];
}

interface Doc {
  id: number;
  /**
   * One field, so a search walks one posting list per term: the title is written three times and
   * the keywords twice, which weighs them as field boosts would (BM25+ saturates repeats).
   */
  all: string;
}

const stopwords: ReadonlySet<string> = new Set(
  (
    "a an and are as at be been but by can could did do does for from had has have he her his how i if in into is " +
    "it its itself me my no not of on or our out over she so than that the their them then there these they this " +
    "to too up us was we were what when where which while who why will with would you your after before during " +
    "about above again all am any because being both each few more most other own same some such only just very " +
    "should now off once here under until down further nor"
  ).split(" "),
);

const splitter = /[^\p{L}\p{N}]+/u;

/** Porter stems, memoized: the vocabulary of tickets and runbooks is small, stemming is not free. */
const stems = new Map<string, string>();
const maxStems = 100_000;

function stem(word: string): string {
  let stemmed = stems.get(word);
  if (stemmed === undefined) {
    // Digits and identifiers (ora, 503, db01) are kept as written.
    stemmed = /^[a-z]+$/.test(word) ? stemmer(word) : word;
    if (stems.size >= maxStems) stems.clear();
    stems.set(word, stemmed);
  }
  return stemmed;
}

/**
 * The tokenizer used for documents and queries: lower-case words of 2 to 40 characters, no
 * stopwords, Porter-stemmed (so "connections" finds "connection").
 */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.toLowerCase().split(splitter)) {
    if (raw.length < 2 || raw.length > 40 || stopwords.has(raw)) continue;
    out.push(stem(raw));
  }
  return out;
}

/** Description text read for matching: patterns and terms never see more than this. */
const maxDescription = 4_000;
/** At most this many description terms take part in a query. */
const maxDescriptionTerms = 16;
/** Numbers, ports, sizes and ids (5432, 30s, 10gb): they never say which runbook applies. */
const hasDigit = /\d/;

const weights = {
  /** Text coverage, for a runbook with and without its own keywords/patterns. */
  textDescribed: 0.6,
  textOnly: 0.85,
  keywordInTitle: 0.45,
  keywordInTitleMore: 0.2,
  keywordInDescription: 0.25,
  keywordInDescriptionMore: 0.1,
  titlePattern: 0.35,
  descriptionPattern: 0.2,
  service: 0.15,
  context: 0.05,
  /** A described runbook none of whose keywords or patterns matched keeps this share. */
  undescribedPenalty: 0.7,
} as const;

export interface MatchOptions {
  /** How many candidates to return. Default 5. */
  limit?: number;
  /** How many search hits are scored in full. Default 50. */
  retrieve?: number;
}

/** An in-memory index of the current runbooks; `runbooks.ts` keeps it up to date. */
export class RunbookIndex {
  /**
   * One BM25+ index per (service, environment) a runbook is scoped to, `*` standing for "any".
   * Both are hard filters, so a ticket only searches the shards that can hold its candidates
   * (its service or any, times its environment or any): each search touches a fraction of the
   * postings.
   */
  private readonly shards = new Map<string, MiniSearch<Doc>>();
  private readonly entries = new Map<number, Entry>();
  private readonly df = new Map<string, number>();
  /** Bumped by every change: caches keyed on it know when to drop what they hold. */
  version = 0;

  private shard(key: string): MiniSearch<Doc> {
    let shard = this.shards.get(key);
    if (!shard) {
      shard = new MiniSearch<Doc>({
        fields: ["all"],
        idField: "id",
        tokenize,
        processTerm: (term) => term,
        searchOptions: {
          combineWith: "OR",
          tokenize: (query) => query.split(" "),
          processTerm: (term) => term,
        },
        autoVacuum: { minDirtCount: 100, minDirtFactor: 0.1 },
      });
      this.shards.set(key, shard);
    }
    return shard;
  }

  private shardKeys(entry: Pick<Entry, "services" | "environments">): string[] {
    const keys: string[] = [];
    for (const service of entry.services ?? ["*"]) {
      for (const environment of entry.environments ?? ["*"]) keys.push(`${service}\u0000${environment}`);
    }
    return keys;
  }

  get size(): number {
    return this.entries.size;
  }

  has(id: number): boolean {
    return this.entries.has(id);
  }

  /** Adds or replaces a runbook. A pattern that does not compile is ignored (the parser rejects it first). */
  upsert(record: Entry["record"], plan: IndexablePlan): void {
    this.remove(record.id);
    const match = plan.metadata.match ?? {};
    const keywords = (match.keywords ?? []).map((k) => k.trim().toLowerCase()).filter((k) => k.length > 0);
    const titlePattern = compile(match.titlePattern);
    const descriptionPattern = compile(match.descriptionPattern);
    const stepText: string[] = [];
    for (const steps of Object.values(plan.phases)) {
      for (const step of steps) {
        stepText.push(step.name, step.command);
        if (step.description) stepText.push(step.description);
      }
    }
    const keywordText = keywords.join(" ");
    const doc: Doc = {
      id: record.id,
      all: [
        plan.title,
        plan.title,
        plan.title,
        keywordText,
        keywordText,
        plan.description ?? "",
        ...stepText,
      ].join("\n"),
    };
    const terms = [...new Set(tokenize(doc.all))];
    for (const term of terms) this.df.set(term, (this.df.get(term) ?? 0) + 1);
    const set = (list: readonly string[] | undefined) =>
      list && list.length > 0 ? new Set(list.map((v) => v.trim().toLowerCase())) : null;
    this.entries.set(record.id, {
      record: {
        id: record.id,
        key: record.key,
        revision: record.revision,
        title: record.title,
        status: record.status,
      },
      autoExecute: plan.metadata.autoExecute !== false,
      services: set(match.services),
      environments: set(match.environments),
      severities: set(match.severities),
      sources: set(match.sources),
      keywords,
      titlePattern,
      descriptionPattern,
      described: keywords.length > 0 || titlePattern !== null || descriptionPattern !== null,
      terms,
    });
    const entry = this.entries.get(record.id) as Entry;
    for (const key of this.shardKeys(entry)) this.shard(key).add(doc);
    this.version++;
  }

  /** Updates the lifecycle status of an indexed runbook (approve keeps it indexed). */
  setStatus(id: number, status: RunbookRecord["status"]): void {
    const entry = this.entries.get(id);
    if (entry) {
      entry.record = { ...entry.record, status };
      this.version++;
    }
  }

  remove(id: number): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    for (const term of entry.terms) {
      const n = (this.df.get(term) ?? 1) - 1;
      if (n <= 0) this.df.delete(term);
      else this.df.set(term, n);
    }
    this.entries.delete(id);
    for (const key of this.shardKeys(entry)) this.shards.get(key)?.discard(id);
    this.version++;
  }

  clear(): void {
    this.shards.clear();
    this.entries.clear();
    this.df.clear();
    this.version++;
  }

  /** Candidates for a ticket, best first, each with its score and reasons. */
  match(query: MatchQuery, options: MatchOptions = {}): RunbookMatch[] {
    if (this.entries.size === 0) return [];
    const limit = options.limit ?? 5;
    const n = this.entries.size;
    const title = query.title;
    const description =
      query.description.length > maxDescription
        ? query.description.slice(0, maxDescription)
        : query.description;
    const titleTerms = [...new Set(tokenize(title))];
    const descriptionTerms = [...new Set(tokenize(description))]
      .filter((t) => !hasDigit.test(t) && !titleTerms.includes(t))
      .slice(0, maxDescriptionTerms);
    // Retrieval uses the rarer terms only: a term found in a large share of the runbooks tells
    // them apart poorly and would make the search touch thousands of documents. When every term
    // is common, the two rarest still retrieve.
    const commonLimit = Math.max(50, n * 0.05);
    const known = [...titleTerms, ...descriptionTerms].filter((t) => this.df.has(t));
    let queryTerms = known.filter((t) => (this.df.get(t) ?? 0) <= commonLimit);
    if (queryTerms.length < 2 && known.length > queryTerms.length) {
      queryTerms = [...known].sort((a, b) => (this.df.get(a) ?? 0) - (this.df.get(b) ?? 0)).slice(0, 2);
    }
    if (queryTerms.length === 0) return [];
    const search = queryTerms.join(" ");
    const service = query.service.trim().toLowerCase();
    const environment = query.environment.trim().toLowerCase();
    const shards =
      service && environment
        ? [`${service}\u0000${environment}`, `${service}\u0000*`, `*\u0000${environment}`, "*\u0000*"].map(
            (k) => this.shards.get(k),
          )
        : [...this.shards.entries()]
            .filter(([key]) => {
              const [s, e] = key.split("\u0000");
              return (
                (!service || s === service || s === "*") && (!environment || e === environment || e === "*")
              );
            })
            .map(([, shard]) => shard);
    const best = new Map<number, SearchResult>();
    for (const shard of shards) {
      if (!shard) continue;
      for (const hit of shard.search(search)) {
        const seen = best.get(hit.id as number);
        if (!seen || seen.score < hit.score) best.set(hit.id as number, hit);
      }
    }
    const hits = [...best.values()].sort((a, b) => b.score - a.score).slice(0, options.retrieve ?? 50);

    const idf = (t: string) => Math.log(1 + n / ((this.df.get(t) ?? 0) + 1));
    const titleWeight = titleTerms.reduce((sum, t) => sum + idf(t), 0);
    const descriptionWeight = descriptionTerms.reduce((sum, t) => sum + idf(t), 0);
    const lowerTitle = title.toLowerCase();
    const lowerDescription = description.toLowerCase();
    const source = query.source.toLowerCase();

    const out: RunbookMatch[] = [];
    for (const hit of hits) {
      const entry = this.entries.get(hit.id as number);
      if (!entry) continue;
      const scored = this.score(entry, hit, {
        titleTerms,
        descriptionTerms,
        titleWeight,
        descriptionWeight,
        idf,
        title,
        description,
        lowerTitle,
        lowerDescription,
        service,
        environment,
        severity: query.severity,
        source,
      });
      if (scored) out.push(scored);
    }
    out.sort(
      (a, b) =>
        b.candidate.score - a.candidate.score ||
        Number(b.candidate.status === "approved") - Number(a.candidate.status === "approved") ||
        a.candidate.runbookId - b.candidate.runbookId,
    );
    return out.slice(0, limit);
  }

  private score(
    entry: Entry,
    hit: SearchResult,
    q: {
      titleTerms: string[];
      descriptionTerms: string[];
      titleWeight: number;
      descriptionWeight: number;
      idf(t: string): number;
      title: string;
      description: string;
      lowerTitle: string;
      lowerDescription: string;
      service: string;
      environment: string;
      severity: string;
      source: string;
    },
  ): RunbookMatch | null {
    const reasons: string[] = [];
    let miss = 1;
    const add = (strength: number, reason: string) => {
      miss *= 1 - strength;
      reasons.push(reason);
    };

    // Hard filters: a runbook scoped to other services, environments, severities or sources is out.
    const filters = [
      ["service", entry.services, q.service, weights.service],
      ["environment", entry.environments, q.environment, weights.context],
      ["severity", entry.severities, q.severity, weights.context],
      ["source", entry.sources, q.source, weights.context],
    ] as const;
    const context: [number, string][] = [];
    for (const [field, allowed, value, strength] of filters) {
      if (!allowed || !value) continue;
      if (!allowed.has(value)) return null;
      context.push([strength, `${field}=${value} matched`]);
    }

    const matched = new Set(hit.queryTerms);
    const titleHits = q.titleTerms.filter((t) => matched.has(t));
    const descriptionHits = q.descriptionTerms.filter((t) => matched.has(t));
    const titleCoverage = q.titleWeight > 0 ? titleHits.reduce((s, t) => s + q.idf(t), 0) / q.titleWeight : 0;
    const descriptionCoverage =
      q.descriptionWeight > 0 ? descriptionHits.reduce((s, t) => s + q.idf(t), 0) / q.descriptionWeight : 0;
    const coverage =
      q.descriptionWeight > 0 ? 0.75 * titleCoverage + 0.25 * descriptionCoverage : titleCoverage;
    if (coverage > 0) {
      const words = titleHits.length > 0 ? titleHits : descriptionHits;
      add(
        coverage * (entry.described ? weights.textDescribed : weights.textOnly),
        `text: ${titleHits.length} of ${q.titleTerms.length} title terms` +
          (q.descriptionTerms.length > 0
            ? `, ${descriptionHits.length} of ${q.descriptionTerms.length} description terms`
            : "") +
          ` (${words.slice(0, 4).join(", ")})`,
      );
    }

    let described = false;
    let inTitle = 0;
    let inDescription = 0;
    for (const keyword of entry.keywords) {
      if (containsWord(q.lowerTitle, keyword)) {
        add(
          inTitle++ === 0 ? weights.keywordInTitle : weights.keywordInTitleMore,
          `keyword '${keyword}' in title`,
        );
        described = true;
      } else if (q.lowerDescription && containsWord(q.lowerDescription, keyword)) {
        add(
          inDescription++ === 0 ? weights.keywordInDescription : weights.keywordInDescriptionMore,
          `keyword '${keyword}' in description`,
        );
        described = true;
      }
    }
    if (entry.titlePattern?.test(q.title)) {
      add(weights.titlePattern, "title_pattern matched");
      described = true;
    }
    if (entry.descriptionPattern && q.description && entry.descriptionPattern.test(q.description)) {
      add(weights.descriptionPattern, "description_pattern matched");
      described = true;
    }
    if (reasons.length === 0) return null;
    for (const [strength, reason] of context) add(strength, reason);

    let score = 1 - miss;
    if (entry.described && !described) {
      score *= weights.undescribedPenalty;
      reasons.push("none of its keywords or patterns matched");
    }
    const { record } = entry;
    return {
      candidate: {
        runbookId: record.id,
        runbookKey: record.key,
        runbookVersion: record.revision,
        title: record.title,
        status: record.status,
        score: Math.round(Math.min(1, Math.max(0, score)) * 1000) / 1000,
        reasons,
      },
      autoExecute: entry.autoExecute,
    };
  }
}

function compile(source: string | undefined): RegExp | null {
  if (!source) return null;
  try {
    return new RegExp(source);
  } catch {
    return null;
  }
}

const isWordChar = (code: number) =>
  (code >= 48 && code <= 57) || (code >= 97 && code <= 122) || code === 95 || code > 127;

/** `needle` occurs in `haystack` starting at a word boundary (`replica` matches `replication`). */
function containsWord(haystack: string, needle: string): boolean {
  let from = 0;
  for (;;) {
    const at = haystack.indexOf(needle, from);
    if (at < 0) return false;
    if (at === 0 || !isWordChar(haystack.charCodeAt(at - 1))) return true;
    from = at + 1;
  }
}
