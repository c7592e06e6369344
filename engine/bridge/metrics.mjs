// The WebAssembly engine has no metrics ("Metrics is not enabled in Wasm"), so
// the bridge measures what the native engine reported: queries run, active,
// and their duration, in the native engine's JSON and Prometheus shapes.
const BUCKETS_MS = [0, 1, 5, 10, 50, 100, 500, 1000, 5000, 50000];

export class BridgeMetrics {
  constructor() {
    this.total = 0;
    this.active = 0;
    this.sum = 0;
    this.bucketCounts = BUCKETS_MS.map(() => 0);
  }

  /**
   * Measure one engine call.
   * @template T
   * @param {() => Promise<T>} operation
   */
  async measure(operation) {
    this.active += 1;
    const started = performance.now();
    try {
      return await operation();
    } finally {
      const elapsed = performance.now() - started;
      this.active -= 1;
      this.total += 1;
      this.sum += elapsed;
      const bucket = BUCKETS_MS.findIndex((limit) => elapsed <= limit);
      this.bucketCounts[bucket === -1 ? BUCKETS_MS.length - 1 : bucket] += 1;
    }
  }

  /** @param {Record<string, string>} labels */
  json(labels = {}) {
    let cumulative = 0;
    const buckets = BUCKETS_MS.map((limit, index) => [limit, (cumulative += this.bucketCounts[index])]);
    return {
      counters: [{ key: 'prisma_client_queries_total', labels, value: this.total, description: 'Total number of Prisma Client queries executed' }],
      gauges: [{ key: 'prisma_client_queries_active', labels, value: this.active, description: 'Number of currently active Prisma Client queries' }],
      histograms: [{
        key: 'prisma_client_queries_duration_histogram_ms',
        labels,
        value: { buckets, sum: this.sum, count: this.total },
        description: 'Histogram of the duration of all executed Prisma Client queries in ms',
      }],
    };
  }

  /** @param {Record<string, string>} labels */
  prometheus(labels = {}) {
    const labelText = (/** @type {Record<string, string>} */ extra) => {
      const all = { ...labels, ...extra };
      const pairs = Object.entries(all).map(([key, value]) => `${key}="${String(value).replaceAll('"', '\\"')}"`);
      return pairs.length ? `{${pairs.join(',')}}` : '';
    };
    const { counters: [total], gauges: [active], histograms: [duration] } = this.json();
    const lines = [
      `# HELP ${total.key} ${total.description}`, `# TYPE ${total.key} counter`, `${total.key}${labelText({})} ${total.value}`,
      `# HELP ${active.key} ${active.description}`, `# TYPE ${active.key} gauge`, `${active.key}${labelText({})} ${active.value}`,
      `# HELP ${duration.key} ${duration.description}`, `# TYPE ${duration.key} histogram`,
      ...duration.value.buckets.map(([limit, count]) => `${duration.key}_bucket${labelText({ le: String(limit) })} ${count}`),
      `${duration.key}_bucket${labelText({ le: '+Inf' })} ${duration.value.count}`,
      `${duration.key}_sum${labelText({})} ${duration.value.sum}`,
      `${duration.key}_count${labelText({})} ${duration.value.count}`,
    ];
    return `${lines.join('\n')}\n`;
  }
}
