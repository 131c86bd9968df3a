/**
 * The runbook matching index. Retrieval is a BM25 search over an inverted index of each runbook's
 * title, match keywords, description and step text, sharded by the hard filters of its `match`
 * block (services × environments); the block then filters the hits (severities, sources) and adds
 * evidence (keywords, patterns). Nothing scans every runbook: a ticket walks the postings of its
 * rarer terms in the shards it can match, then scores at most `retrieve` hits, and builds reasons
 * only for the `limit` it returns.
 *
 * Scoring: each piece of evidence has a strength in [0,1] and they are combined as a noisy-OR,
 * `1 - Π(1 - s)`, so the score stays in [0,1], never falls when evidence is added, and each
 * reason can be read on its own.
 *
 * Over 500 lines: building the index, walking its shards, scoring and the technology veto share
 * private structures (each runbook's precomputed terms and technologies) and are tuned together
 * against the matching benchmark and evaluation; the technology vocabulary is technologies.ts.
 */
import { stemmer } from "stemmer";
import type { RunbookCandidate, RunbookRecord, TicketSeverity } from "../domain.js";
import {
  technologyConflicts,
  technologyMask,
  technologyMismatch,
  technologyNames,
  ticketTechnologies,
  unnamedProducts,
} from "./technologies.js";

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
  /** The ticket's title (matched on as words). */
  title: string;
  /** The ticket's description (matched on as words). */
  description: string;
  /** The ticket's service (a hard filter of `match.services`). */
  service: string;
  /** The ticket's environment (a hard filter of `match.environments`). */
  environment: string;
  /** The ticket's severity (a filter of `match.severities`). */
  severity: TicketSeverity;
  /** The ticket's source (a filter of `match.sources`). */
  source: string;
  /**
   * Other ticket text that can name a technology but is not matched on as words: the string
   * values of its labels and metadata.
   */
  labels?: readonly string[] | undefined;
}

/** A ranked candidate, plus whether its runbook allows auto-execution (front matter `auto_execute`). */
export interface RunbookMatch {
  /** The runbook, its score and the reasons for it. */
  candidate: RunbookCandidate;
  /** True unless the runbook's front matter says `auto_execute: false`. */
  autoExecute: boolean;
  /**
   * Why this candidate must not run automatically whatever its score (a technology conflict, or
   * a runbook without a `match` block the ticket gives no strong evidence for); absent when none.
   */
  veto?: string | undefined;
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
  /** The distinct subject terms of its title (no action words): the ticket should name them. */
  subject: readonly string[];
  /** The runbook says what it is for (keywords or patterns): text alone counts for less. */
  described: boolean;
  /** Its `match` block says what it is for (keywords, patterns or services): explicit matching. */
  explicit: boolean;
  /**
   * The technologies it is about (a mask over `technologies`), computed once here from its title,
   * description, keywords and steps. `match.services` is a scope (a hard filter), not a subject.
   */
  technologies: number;
  /**
   * The technologies its title and keywords name: what it acts on, as opposed to what a step or
   * its description mentions on the way (a precheck reading a PostgreSQL table).
   */
  subjectTechnologies: number;
  /** Its distinct terms (for document frequencies and removal). */
  terms: readonly string[];
  /** Its place in the dense per-slot arrays (accumulators, lengths). */
  slot: number;
  /** The idf of each `subject` term, as of index version `subjectWeightsVersion`. */
  subjectWeights: Float64Array;
  subjectWeightsVersion: number;
  shardKeys: readonly string[];
}

/** The runbooks of one shard holding a term: slots, and the term's count in each. */
interface Posting {
  slots: number[];
  tfs: number[];
}

// Words that say what is wrong in operations ("down", "up", "out of memory", "off", "no space")
// are not stopwords here.
const stopwords: ReadonlySet<string> = new Set(
  (
    "a an and are as at be been but by can could did do does for from had has have he her his how i if in into is " +
    "it its itself me my not of on or our over she so than that the their them then there these they this " +
    "to too up us was we were what when where which while who why will with would you your after before during " +
    "about above again all am any because being both each few more most other own same some such only just very " +
    "should now once here under until further nor"
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
  wordsOf(text.toLowerCase(), out, null);
  return out;
}

/**
 * Tokenizes lower-cased text into `out` (as {@link tokenize}), and each kept word as written into
 * `raws` when given (so reasons can show the ticket's own word for a stem).
 */
function wordsOf(lower: string, out: string[], raws: string[] | null): void {
  // ASCII text (nearly every ticket) is cut into words by hand: the same words the Unicode split
  // below finds, without its regex and empty pieces. Other text takes the split.
  if (!asciiWords(lower, out, raws)) {
    out.length = 0;
    if (raws) raws.length = 0;
    for (const raw of lower.split(splitter)) addToken(raw, out, raws);
  }
}

function addToken(raw: string, out: string[], raws: string[] | null): void {
  if (raw.length < 2 || raw.length > 40 || stopwords.has(raw)) return;
  out.push(stem(raw));
  raws?.push(raw);
}

/** Letters and digits of lower-cased ASCII text: `\p{L}\p{N}` below 128. */
const isAsciiWordChar = (code: number) => (code >= 97 && code <= 122) || (code >= 48 && code <= 57);

/** Tokenizes lower-cased text into `out`; false (stopping early) at the first non-ASCII character. */
function asciiWords(lower: string, out: string[], raws: string[] | null): boolean {
  const n = lower.length;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const code = lower.charCodeAt(i);
    if (code > 127) return false;
    if (isAsciiWordChar(code)) continue;
    if (i - start >= 2) addToken(lower.slice(start, i), out, raws);
    start = i + 1;
  }
  if (n - start >= 2) addToken(lower.slice(start, n), out, raws);
  return true;
}

/**
 * Words of a runbook title that say what the runbook does rather than what it is about ("Fix",
 * "Restart", "Investigation"): the title's other words are its subject, which a ticket is
 * expected to name.
 */
const actionWords: ReadonlySet<string> = new Set(
  (
    "fix fixing restart restarting renew renewal cleanup clean investigate investigation mitigate mitigation " +
    "collect check handle handling resolve resolution repair recover recovery troubleshoot troubleshooting " +
    "remediate remediation runbook playbook procedure respond response rotate rotation reset restore"
  )
    .split(" ")
    .map((word) => stem(word)),
);

/** Description text read for matching: patterns and terms never see more than this. */
const maxDescription = 4_000;
/** At most this many description terms take part in a query. */
const maxDescriptionTerms = 16;

const weights = {
  /** Text coverage, for a runbook with and without its own keywords/patterns. */
  textDescribed: 0.6,
  textOnly: 0.85,
  /** All of the runbook title's subject terms are named by the ticket. */
  subject: 0.5,
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
  /** A runbook about another technology of a group the ticket names keeps this share. */
  conflictPenalty: 0.5,
} as const;

/** Options of a match: how many candidates to return and how many hits to score. */
export interface MatchOptions {
  /** How many candidates to return. Default 5. */
  limit?: number;
  /** How many search hits are scored in full. Default 50. */
  retrieve?: number;
}

/** BM25 parameters of the retrieval ranking (the final score is the evidence model below). */
const k1 = 1.2;
const b = 0.75;
/** Query terms that take part in retrieval: each gets one bit of a 32-bit mask. */
const maxQueryTerms = 32;

/** What a ticket of one service and environment walks: shards, and the runbooks scoped to it. */
interface Route {
  shards: Map<string, Posting>[];
  scoped: number[][];
}

/** At most this many (service, environment) routes are kept between index changes. */
const maxRoutes = 4_096;

/** What a query computes once and every hit's scoring reads. */
interface QueryContext {
  queryTerms: readonly string[];
  titleBits: number;
  descriptionBits: number;
  titleTerms: readonly string[];
  descriptionTerms: readonly string[];
  /** Every term of the (read part of the) ticket's description, once each. */
  allDescriptionTerms: readonly string[];
  /** The same as a set, built when a long description's terms are first looked up. */
  descriptionTermSet: ReadonlySet<string> | null;
  titleWeight: number;
  descriptionWeight: number;
  idfs: Float64Array;
  title: string;
  description: string;
  lowerTitle: string;
  lowerDescription: string;
  /** The title's and description's tokens (stems) and each one's word as written. */
  titleTokens: readonly string[];
  titleRaws: readonly string[];
  descriptionTokens: readonly string[];
  descriptionRaws: readonly string[];
  service: string;
  environment: string;
  severity: string;
  source: string;
  /** The technologies the ticket names (a mask over `technologies`). */
  technologies: number;
  /** Stem → a word of the ticket that has it, built only when reasons are. */
  words: Map<string, string> | null;
}

/** An in-memory index of the current runbooks; `runbooks.ts` keeps it up to date. */
export class RunbookIndex {
  /**
   * Postings per (service, environment) a runbook is scoped to, `*` standing for "any". Both are
   * hard filters, so a ticket only walks the shards that can hold its candidates (its service or
   * any, times its environment or any).
   */
  private readonly shards = new Map<string, Map<string, Posting>>();
  /**
   * The slots of each shard scoped to a named service: a ticket of that service gets them as
   * candidates even when it shares no word with them (the service alone is evidence).
   */
  private readonly scoped = new Map<string, number[]>();
  private readonly entries = new Map<number, Entry>();
  private readonly df = new Map<string, number>();
  /** Entries by slot; freed slots are reused. */
  private readonly slots: (Entry | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private lengths = new Float64Array(64);
  private totalLength = 0;
  /** Per-slot accumulators of one query, zeroed again before it returns (no allocation per hit). */
  private scores = new Float64Array(64);
  private masks = new Uint32Array(64);
  private readonly touched: number[] = [];
  /** Bumped by every change: caches keyed on it know when to drop what they hold. */
  version = 0;
  /** Shards and scoped runbooks by service, then environment, as of `routesVersion`. */
  private readonly routes = new Map<string, Map<string, Route>>();
  private routesVersion = -1;
  private routeCount = 0;
  /** One query's idfs, overwritten by the next (no allocation per query). */
  private readonly idfs = new Float64Array(maxQueryTerms);

  private shardKeys(
    services: ReadonlySet<string> | null,
    environments: ReadonlySet<string> | null,
  ): string[] {
    const keys: string[] = [];
    for (const service of services ?? ["*"]) {
      for (const environment of environments ?? ["*"]) keys.push(`${service}\u0000${environment}`);
    }
    return keys;
  }

  get size(): number {
    return this.entries.size;
  }

  has(id: number): boolean {
    return this.entries.has(id);
  }

  private takeSlot(): number {
    const free = this.freeSlots.pop();
    if (free !== undefined) return free;
    const slot = this.slots.length;
    this.slots.push(undefined);
    if (slot >= this.lengths.length) {
      const size = this.lengths.length * 2;
      const grow = <T extends Float64Array | Uint32Array>(old: T, next: T) => {
        next.set(old);
        return next;
      };
      this.lengths = grow(this.lengths, new Float64Array(size));
      this.scores = grow(this.scores, new Float64Array(size));
      this.masks = grow(this.masks, new Uint32Array(size));
    }
    return slot;
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
    // One text, so a search walks one posting list per term: the title is written three times and
    // the keywords twice, which weighs them as field boosts would (BM25 saturates repeats).
    const tokens = tokenize(
      [
        plan.title,
        plan.title,
        plan.title,
        keywordText,
        keywordText,
        (match.services ?? []).join(" "),
        plan.description ?? "",
        ...stepText,
      ].join("\n"),
    );
    const counts = new Map<string, number>();
    for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
    const terms = [...counts.keys()];
    for (const term of terms) this.df.set(term, (this.df.get(term) ?? 0) + 1);
    const set = (list: readonly string[] | undefined) =>
      list && list.length > 0 ? new Set(list.map((v) => v.trim().toLowerCase())) : null;
    const services = set(match.services);
    const environments = set(match.environments);
    const slot = this.takeSlot();
    const entry: Entry = {
      record: {
        id: record.id,
        key: record.key,
        revision: record.revision,
        title: record.title,
        status: record.status,
      },
      autoExecute: plan.metadata.autoExecute !== false,
      services,
      environments,
      severities: set(match.severities),
      sources: set(match.sources),
      keywords,
      titlePattern,
      descriptionPattern,
      subject: [...new Set(tokenize(plan.title))].filter((t) => !actionWords.has(t)),
      described: keywords.length > 0 || titlePattern !== null || descriptionPattern !== null,
      explicit:
        keywords.length > 0 || titlePattern !== null || descriptionPattern !== null || services !== null,
      technologies: technologyMask([plan.title, plan.description ?? "", keywordText, ...stepText]),
      subjectTechnologies: technologyMask([plan.title, keywordText]),
      terms,
      slot,
      subjectWeights: new Float64Array(0),
      subjectWeightsVersion: -1,
      shardKeys: this.shardKeys(services, environments),
    };
    this.entries.set(record.id, entry);
    this.slots[slot] = entry;
    this.lengths[slot] = tokens.length;
    this.totalLength += tokens.length;
    for (const key of entry.shardKeys) {
      let shard = this.shards.get(key);
      if (!shard) {
        shard = new Map();
        this.shards.set(key, shard);
      }
      if (!key.startsWith("*\u0000")) {
        const slots = this.scoped.get(key);
        if (slots) slots.push(slot);
        else this.scoped.set(key, [slot]);
      }
      for (const [term, tf] of counts) {
        const posting = shard.get(term);
        if (posting) {
          posting.slots.push(slot);
          posting.tfs.push(tf);
        } else shard.set(term, { slots: [slot], tfs: [tf] });
      }
    }
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
    for (const key of entry.shardKeys) {
      const scoped = this.scoped.get(key);
      if (scoped) {
        const at = scoped.indexOf(entry.slot);
        if (at >= 0) scoped.splice(at, 1);
        if (scoped.length === 0) this.scoped.delete(key);
      }
      const shard = this.shards.get(key);
      if (!shard) continue;
      for (const term of entry.terms) {
        const posting = shard.get(term);
        if (!posting) continue;
        const at = posting.slots.indexOf(entry.slot);
        if (at < 0) continue;
        posting.slots.splice(at, 1);
        posting.tfs.splice(at, 1);
        if (posting.slots.length === 0) shard.delete(term);
      }
      if (shard.size === 0) this.shards.delete(key);
    }
    this.totalLength -= this.lengths[entry.slot] ?? 0;
    this.slots[entry.slot] = undefined;
    this.freeSlots.push(entry.slot);
    this.entries.delete(id);
    this.version++;
  }

  clear(): void {
    this.shards.clear();
    this.scoped.clear();
    this.entries.clear();
    this.df.clear();
    this.slots.length = 0;
    this.freeSlots.length = 0;
    this.totalLength = 0;
    this.version++;
  }

  /**
   * The shards a ticket of this service and environment walks, and the runbooks scoped to its
   * service; kept per pair until the index changes (a ticket stream repeats a few pairs).
   */
  private route(service: string, environment: string): Route {
    if (this.routesVersion !== this.version || this.routeCount >= maxRoutes) {
      this.routes.clear();
      this.routesVersion = this.version;
      this.routeCount = 0;
    }
    let byEnvironment = this.routes.get(service);
    if (!byEnvironment) {
      byEnvironment = new Map();
      this.routes.set(service, byEnvironment);
    }
    let route = byEnvironment.get(environment);
    if (route) return route;
    const shards: Map<string, Posting>[] = [];
    /** Runbooks scoped to the ticket's service: candidates whatever their words. */
    const scoped: number[][] = [];
    if (service && environment) {
      for (const key of [`${service}\u0000${environment}`, `${service}\u0000*`]) {
        const slots = this.scoped.get(key);
        if (slots) scoped.push(slots);
      }
      for (const key of [
        `${service}\u0000${environment}`,
        `${service}\u0000*`,
        `*\u0000${environment}`,
        "*\u0000*",
      ]) {
        const shard = this.shards.get(key);
        if (shard) shards.push(shard);
      }
    } else {
      for (const [key, shard] of this.shards) {
        const [s, e] = key.split("\u0000");
        if ((!service || s === service || s === "*") && (!environment || e === environment || e === "*"))
          shards.push(shard);
      }
    }
    route = { shards, scoped };
    byEnvironment.set(environment, route);
    this.routeCount++;
    return route;
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
    // Each text is lower-cased once: tokens, keywords and technologies all read the lower case.
    const lowerTitle = title.toLowerCase();
    const lowerDescription = description.toLowerCase();
    const titleTokens: string[] = [];
    const titleRaws: string[] = [];
    wordsOf(lowerTitle, titleTokens, titleRaws);
    const titleTerms = distinct(titleTokens);
    const descriptionTokens: string[] = [];
    const descriptionRaws: string[] = [];
    wordsOf(lowerDescription, descriptionTokens, descriptionRaws);
    const allDescriptionTerms = distinct(descriptionTokens);
    const descriptionTerms: string[] = [];
    for (const t of allDescriptionTerms) {
      if (descriptionTerms.length === maxDescriptionTerms) break;
      if (!containsDigit(t) && !titleTerms.includes(t)) descriptionTerms.push(t);
    }
    // Retrieval uses the rarer terms only: a term found in a large share of the runbooks tells
    // them apart poorly and would make the search touch thousands of documents. When every term
    // is common, the two rarest still retrieve. Each term's document frequency is read once.
    const commonLimit = Math.max(50, n * 0.05);
    const idf = (df: number) => Math.log(1 + n / (df + 1));
    const known: string[] = [];
    const knownDf: number[] = [];
    let retrieval: number[] = [];
    let titleWeight = 0;
    let descriptionWeight = 0;
    for (let list = 0; list < 2; list++) {
      for (const t of list === 0 ? titleTerms : descriptionTerms) {
        const df = this.df.get(t) ?? 0;
        if (list === 0) titleWeight += idf(df);
        else descriptionWeight += idf(df);
        if (df > 0) {
          known.push(t);
          knownDf.push(df);
          if (df <= commonLimit) retrieval.push(known.length - 1);
        }
      }
    }
    const byDf = (x: number, y: number) => (knownDf[x] as number) - (knownDf[y] as number);
    if (retrieval.length < 2 && known.length > retrieval.length) {
      retrieval = known
        .map((_, i) => i)
        .sort(byDf)
        .slice(0, 2);
    }
    if (retrieval.length > maxQueryTerms) retrieval = retrieval.sort(byDf).slice(0, maxQueryTerms);
    const queryTerms = retrieval.map((i) => known[i] as string);

    const idfs = this.idfs;
    let titleBits = 0;
    let descriptionBits = 0;
    for (let i = 0; i < queryTerms.length; i++) {
      idfs[i] = idf(knownDf[retrieval[i] as number] as number);
      if (titleTerms.includes(queryTerms[i] as string)) titleBits |= 1 << i;
      else descriptionBits |= 1 << i;
    }
    const service = query.service.trim().toLowerCase();
    const environment = query.environment.trim().toLowerCase();
    const { shards, scoped } = this.route(service, environment);
    if (queryTerms.length === 0 && scoped.length === 0) return [];

    // Walk the postings: BM25 per runbook into the slot accumulators, and which terms it holds.
    const { scores, masks, lengths, touched } = this;
    const averageLength = this.totalLength / n || 1;
    for (const shard of shards) {
      for (let i = 0; i < queryTerms.length; i++) {
        const posting = shard.get(queryTerms[i] as string);
        if (!posting) continue;
        const bit = 1 << i;
        const weight = idfs[i] as number;
        const { slots, tfs } = posting;
        for (let p = 0; p < slots.length; p++) {
          const slot = slots[p] as number;
          const mask = masks[slot] as number;
          if (mask & bit) continue; // the same runbook in another shard of this query
          if (mask === 0) touched.push(slot);
          masks[slot] = mask | bit;
          const tf = tfs[p] as number;
          scores[slot] =
            (scores[slot] as number) +
            (weight * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * (lengths[slot] as number)) / averageLength));
        }
      }
    }
    const retrieve = options.retrieve ?? 50;
    if (touched.length > retrieve) touched.sort((x, y) => (scores[y] as number) - (scores[x] as number));
    const hits: { entry: Entry; mask: number; score: number }[] = [];
    // Scoped runbooks without a word in common come after the text hits, within `retrieve`.
    const wordless: Entry[] = [];
    for (const slots of scoped) {
      for (const slot of slots) {
        if (wordless.length + Math.min(touched.length, retrieve) >= retrieve) break;
        const entry = this.slots[slot];
        if (entry && masks[slot] === 0 && !wordless.includes(entry)) wordless.push(entry);
      }
    }
    for (let i = 0; i < touched.length; i++) {
      const slot = touched[i] as number;
      const entry = this.slots[slot];
      if (i < retrieve && entry) hits.push({ entry, mask: masks[slot] as number, score: 0 });
      scores[slot] = 0;
      masks[slot] = 0;
    }
    touched.length = 0;
    for (const entry of wordless) hits.push({ entry, mask: 0, score: 0 });

    const q: QueryContext = {
      queryTerms,
      titleBits,
      descriptionBits,
      titleTerms,
      descriptionTerms,
      allDescriptionTerms,
      descriptionTermSet: null,
      titleWeight,
      descriptionWeight,
      idfs,
      title,
      description,
      lowerTitle,
      lowerDescription,
      titleTokens,
      titleRaws,
      descriptionTokens,
      descriptionRaws,
      service,
      environment,
      severity: query.severity,
      source: query.source.toLowerCase(),
      technologies: ticketTechnologies(lowerTitle, lowerDescription, query.service, query.labels),
      words: null,
    };
    // Score every hit (numbers only), rank, and explain only the ones returned.
    const scored: typeof hits = [];
    for (const hit of hits) {
      hit.score = this.score(hit.entry, hit.mask, q, null);
      if (hit.score >= 0) scored.push(hit);
    }
    scored.sort(
      (x, y) =>
        y.score - x.score ||
        Number(y.entry.record.status === "approved") - Number(x.entry.record.status === "approved") ||
        x.entry.record.id - y.entry.record.id,
    );
    const out: RunbookMatch[] = [];
    for (const { entry, mask, score } of scored.slice(0, limit)) {
      const reasons: string[] = [];
      this.score(entry, mask, q, reasons);
      const veto = this.veto(entry, q);
      if (veto) reasons.push(veto);
      const { record } = entry;
      out.push({
        candidate: {
          runbookId: record.id,
          runbookKey: record.key,
          runbookVersion: record.revision,
          title: record.title,
          status: record.status,
          score,
          reasons,
        },
        autoExecute: entry.autoExecute,
        ...(veto ? { veto } : {}),
      });
    }
    return out;
  }

  /**
   * Why a candidate must not run automatically, or null: the ticket names a technology of a group
   * the runbook names others of only (MySQL against PostgreSQL); the runbook's title or keywords
   * name a product (a database, web server, queue or runtime) the ticket does not; or it has no
   * `match` block and is about none of the technologies the ticket names.
   */
  private veto(entry: Entry, q: QueryContext): string | null {
    const conflicts = technologyConflicts(q.technologies, entry.technologies);
    if (conflicts.length > 0) {
      return `not run automatically: ${conflicts
        .map(
          (c) =>
            `the ticket names ${technologyNames(c.ticket).join(" and ")} but the runbook is about ${technologyNames(c.runbook).join(" and ")}`,
        )
        .join("; ")}`;
    }
    const unnamed = unnamedProducts(q.technologies, entry.subjectTechnologies);
    if (unnamed !== 0) {
      return `not run automatically: the runbook is about ${technologyNames(unnamed).join(" or ")} and the ticket does not name it`;
    }
    if (!entry.explicit && (q.technologies & entry.technologies) === 0) {
      const about = technologyNames(entry.technologies);
      return (
        "not run automatically: the runbook has no match block (keywords, patterns or services) and " +
        (about.length === 0
          ? "names no technology, so nothing shows it is about this ticket"
          : `the ticket does not name what it is about (${about.join(", ")})`)
      );
    }
    return null;
  }

  /** The idf of each of the entry's subject terms, computed once per index version. */
  private subjectWeights(entry: Entry): Float64Array {
    if (entry.subjectWeightsVersion !== this.version) {
      const weights = new Float64Array(entry.subject.length);
      for (let i = 0; i < weights.length; i++)
        weights[i] = Math.log(1 + this.entries.size / ((this.df.get(entry.subject[i] as string) ?? 0) + 1));
      entry.subjectWeights = weights;
      entry.subjectWeightsVersion = this.version;
    }
    return entry.subjectWeights;
  }

  /**
   * A hit's score in [0,1] (rounded to 3 decimals), or -1 when a hard filter or the lack of any
   * evidence rules it out. `reasons`, when given, receives why.
   */
  private score(entry: Entry, mask: number, q: QueryContext, reasons: string[] | null): number {
    // Hard filters: a runbook scoped to other severities or sources is out (services and
    // environments are shards, but a query without them still reaches scoped runbooks' shards).
    if (entry.services && q.service && !entry.services.has(q.service)) return -1;
    if (entry.environments && q.environment && !entry.environments.has(q.environment)) return -1;
    if (entry.severities && q.severity && !entry.severities.has(q.severity)) return -1;
    if (entry.sources && q.source && !entry.sources.has(q.source)) return -1;

    let miss = 1;
    let evidence = 0;
    const titleHits = mask & q.titleBits;
    const descriptionHits = mask & q.descriptionBits;
    let titleCovered = 0;
    let descriptionCovered = 0;
    for (let i = 0; i < q.queryTerms.length; i++) {
      const bit = 1 << i;
      if (titleHits & bit) titleCovered += q.idfs[i] as number;
      else if (descriptionHits & bit) descriptionCovered += q.idfs[i] as number;
    }
    const titleCoverage = q.titleWeight > 0 ? titleCovered / q.titleWeight : 0;
    const descriptionCoverage = q.descriptionWeight > 0 ? descriptionCovered / q.descriptionWeight : 0;
    const coverage =
      q.descriptionWeight > 0 ? 0.75 * titleCoverage + 0.25 * descriptionCoverage : titleCoverage;
    if (coverage > 0) {
      miss *= 1 - coverage * (entry.described ? weights.textDescribed : weights.textOnly);
      evidence++;
      if (reasons) {
        const shownBits = titleHits || descriptionHits;
        const words = ticketWords(q);
        const shown = q.queryTerms.filter((_, i) => shownBits & (1 << i)).map((t) => words.get(t) ?? t);
        reasons.push(
          `text: ${bitCount(titleHits)} of ${q.titleTerms.length} title terms` +
            (q.descriptionTerms.length > 0
              ? `, ${bitCount(descriptionHits)} of ${q.descriptionTerms.length} description terms`
              : "") +
            ` (${shown.slice(0, 4).join(", ")})`,
        );
      }
    }

    // The runbook title's subject, named by the ticket: only when its title names part of it (a
    // word shared with a long description alone is weak), description mentions counting half.
    if (entry.subject.length > 0) {
      let named = 0;
      let all = 0;
      let inTitle = false;
      const found: string[] = [];
      const termWeights = this.subjectWeights(entry);
      for (let i = 0; i < entry.subject.length; i++) {
        const term = entry.subject[i] as string;
        const weight = termWeights[i] as number;
        all += weight;
        if (q.titleTerms.includes(term)) {
          named += weight;
          inTitle = true;
          found.push(term);
        } else if (descriptionHas(q, term)) {
          named += weight / 2;
          found.push(term);
        }
      }
      if (reasons) {
        const words = ticketWords(q);
        for (let i = 0; i < found.length; i++)
          found[i] = words.get(found[i] as string) ?? (found[i] as string);
      }
      if (inTitle) {
        const share = named / all;
        miss *= 1 - share * weights.subject;
        evidence++;
        reasons?.push(
          `title subject: ${found.length} of ${entry.subject.length} named (${found.join(", ")})`,
        );
      }
    }

    let described = false;
    let inTitle = 0;
    let inDescription = 0;
    for (const keyword of entry.keywords) {
      if (containsWord(q.lowerTitle, keyword)) {
        miss *= 1 - (inTitle++ === 0 ? weights.keywordInTitle : weights.keywordInTitleMore);
        reasons?.push(`keyword '${keyword}' in title`);
        described = true;
      } else if (q.lowerDescription && containsWord(q.lowerDescription, keyword)) {
        miss *= 1 - (inDescription++ === 0 ? weights.keywordInDescription : weights.keywordInDescriptionMore);
        reasons?.push(`keyword '${keyword}' in description`);
        described = true;
      }
    }
    if (entry.titlePattern?.test(q.title)) {
      miss *= 1 - weights.titlePattern;
      reasons?.push("title_pattern matched");
      described = true;
    }
    if (entry.descriptionPattern && q.description && entry.descriptionPattern.test(q.description)) {
      miss *= 1 - weights.descriptionPattern;
      reasons?.push("description_pattern matched");
      described = true;
    }
    const serviceMatched = entry.services !== null && q.service !== "";
    if (evidence === 0 && !described && !serviceMatched) return -1;
    if (serviceMatched) {
      miss *= 1 - weights.service;
      reasons?.push(`service=${q.service} matched`);
    }
    if (entry.environments && q.environment) {
      miss *= 1 - weights.context;
      reasons?.push(`environment=${q.environment} matched`);
    }
    if (entry.severities && q.severity) {
      miss *= 1 - weights.context;
      reasons?.push(`severity=${q.severity} matched`);
    }
    if (entry.sources && q.source) {
      miss *= 1 - weights.context;
      reasons?.push(`source=${q.source} matched`);
    }

    let score = 1 - miss;
    if (entry.described && !described) {
      score *= weights.undescribedPenalty;
      reasons?.push("none of its keywords or patterns matched");
    }
    if (technologyMismatch(q.technologies, entry.technologies, entry.subjectTechnologies))
      score *= weights.conflictPenalty;
    return Math.round(Math.min(1, Math.max(0, score)) * 1000) / 1000;
  }
}

/** The ticket's own words by stem, so reasons show "database", never the stem "databas". */
function ticketWords(q: QueryContext): Map<string, string> {
  if (q.words) return q.words;
  const words = new Map<string, string>();
  for (const [stems, raws] of [
    [q.titleTokens, q.titleRaws],
    [q.descriptionTokens, q.descriptionRaws],
  ] as const) {
    for (let i = 0; i < stems.length; i++) {
      const stemmed = stems[i] as string;
      if (!words.has(stemmed)) words.set(stemmed, raws[i] as string);
    }
  }
  q.words = words;
  return words;
}

/** The ticket's description has this term. */
function descriptionHas(q: QueryContext, term: string): boolean {
  if (q.allDescriptionTerms.length <= 16) return q.allDescriptionTerms.includes(term);
  q.descriptionTermSet ??= new Set(q.allDescriptionTerms);
  return q.descriptionTermSet.has(term);
}

/** Numbers, ports, sizes and ids (5432, 30s, 10gb) hold a digit: they never say which runbook applies. */
function containsDigit(term: string): boolean {
  for (let i = 0; i < term.length; i++) {
    const code = term.charCodeAt(i);
    if (code >= 48 && code <= 57) return true;
  }
  return false;
}

/** The distinct values of a list, in the order they first occur. */
function distinct(list: readonly string[]): string[] {
  if (list.length > 16) return [...new Set(list)];
  const out: string[] = [];
  for (const value of list) if (!out.includes(value)) out.push(value);
  return out;
}

function bitCount(mask: number): number {
  let v = mask - ((mask >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
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
