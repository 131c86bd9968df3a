/**
 * A small Prometheus text-format registry: counters, gauges and one latency histogram. A few
 * dozen lines do what the adapter needs without a global registry or another dependency.
 */

type Labels = Readonly<Record<string, string>>;

/** Characters a label value escapes; most values (routes, methods, statuses) hold none. */
const needsEscape = /[\\\n"]/;

function escapeLabel(value: string): string {
  if (!needsEscape.test(value)) return value;
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return "";
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(",")}}`;
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "+Inf";
  if (n === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(n);
}

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  render(): string[];
}

export class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels, value: by });
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels))?.value ?? 0;
  }
  render(): string[] {
    return [...this.values.values()].map(
      (e) => `${this.name}${labelText(e.labels)} ${formatNumber(e.value)}`,
    );
  }
}

export class Histogram {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}
  observe(labels: Labels, value: number): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }
  render(): string[] {
    const lines: string[] = [];
    for (const s of this.series.values()) {
      this.buckets.forEach((le, i) => {
        lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: formatNumber(le) })} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: "+Inf" })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${formatNumber(s.sum)}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

/** A gauge whose samples are read when scraped. */
export interface GaugeSource {
  name: string;
  help: string;
  collect(): Promise<{ labels?: Labels; value: number }[]> | { labels?: Labels; value: number }[];
}

export class MetricsRegistry {
  private readonly families: Family[] = [];
  private readonly gauges: GaugeSource[] = [];

  counter(name: string, help: string): Counter {
    const c = new Counter(name, help);
    this.families.push({ name, help, type: "counter", render: () => c.render() });
    return c;
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    const h = new Histogram(name, help, buckets);
    this.families.push({ name, help, type: "histogram", render: () => h.render() });
    return h;
  }

  gauge(source: GaugeSource): void {
    this.gauges.push(source);
  }

  /** The exposition text (text/plain; version=0.0.4). */
  async render(): Promise<string> {
    const out: string[] = [];
    for (const f of this.families) {
      out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`, ...f.render());
    }
    for (const g of this.gauges) {
      let samples: { labels?: Labels; value: number }[];
      try {
        samples = await g.collect();
      } catch {
        continue;
      }
      out.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`);
      for (const s of samples) out.push(`${g.name}${labelText(s.labels ?? {})} ${formatNumber(s.value)}`);
    }
    return `${out.join("\n")}\n`;
  }
}
