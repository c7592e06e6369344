// The WebAssembly engine has no metrics ("Metrics is not enabled in Wasm"), so
// the bridge measures what the native engine reports, with its names, kinds,
// descriptions, histogram buckets and both formats (prisma-engines
// query-engine/metrics: lib.rs, registry.rs, formatters.rs): Prisma Client
// queries (the bridge's requests), datasource queries (the adapter's SQL
// statements) and the connection pool (pg's pool, the native engine's mobc).

// Histogram bounds in ms; a histogram counts each sample in every bucket it does not exceed (cumulative).
const BUCKETS_MS = [0, 1, 5, 10, 50, 100, 500, 1000, 5000, 50000];

const DESCRIPTIONS = {
  prisma_client_queries_total: 'Total number of Prisma Client queries executed',
  prisma_datasource_queries_total: 'Total number of Datasource Queries executed',
  prisma_pool_connections_closed_total: 'Total number of Pool Connections closed',
  prisma_pool_connections_opened_total: 'Total number of Pool Connections opened',
  prisma_client_queries_active: 'Number of currently active Prisma Client queries',
  prisma_client_queries_wait: 'Number of Prisma Client queries currently waiting for a connection',
  prisma_pool_connections_busy: 'Number of currently busy Pool Connections (executing a datasource query)',
  prisma_pool_connections_idle: 'Number of currently unused Pool Connections (waiting for the next datasource query to run)',
  prisma_pool_connections_open: 'Number of currently open Pool Connections',
  prisma_client_queries_duration_histogram_ms: 'Histogram of the duration of all executed Prisma Client queries in ms',
  prisma_client_queries_wait_histogram_ms: 'Histogram of the wait time of all Prisma Client Queries in ms',
  prisma_datasource_queries_duration_histogram_ms: 'Histogram of the duration of all executed Datasource Queries in ms',
};

/** @typedef {keyof typeof DESCRIPTIONS} MetricName */

class Histogram {
  constructor() {
    this.cumulative = BUCKETS_MS.map(() => 0);
    this.sum = 0;
    this.count = 0;
  }

  /** @param {number} milliseconds */
  record(milliseconds) {
    BUCKETS_MS.forEach((limit, index) => { if (milliseconds <= limit) this.cumulative[index] += 1; });
    this.sum += milliseconds;
    this.count += 1;
  }
}

/**
 * Time an operation into a histogram.
 * @template T
 * @param {Histogram} histogram
 * @param {() => Promise<T>} operation
 */
async function timed(histogram, operation) {
  const started = performance.now();
  try {
    return await operation();
  } finally {
    histogram.record(performance.now() - started);
  }
}

/**
 * What the native engine measures below the client's queries: datasource queries and the pool. One per
 * process (one engine), shared by the engine wrapper that records and the HTTP handler that reports.
 */
class DatasourceMetrics {
  constructor() {
    this.queries = new Histogram();
    this.waits = new Histogram();
    this.opened = 0;
    this.closed = 0;
    /** @type {{ totalCount: number, idleCount: number, waitingCount: number } | undefined} */
    this.pool = undefined;
  }

  /**
   * Count and time one SQL statement.
   * @template T
   * @param {() => Promise<T>} operation
   */
  measureQuery(operation) {
    return timed(this.queries, operation);
  }

  /**
   * Follow a pg pool: connections opened and closed, and the time each checkout waits for a connection.
   * @param {import('pg').Pool} pool
   */
  watchPool(pool) {
    this.pool = pool;
    pool.on('connect', () => { this.opened += 1; });
    pool.on('remove', () => { this.closed += 1; });
    const connect = pool.connect.bind(pool);
    // pg-pool's query() checks out through connect() too: every statement's wait is seen here.
    // @ts-ignore - one override for the callback and promise overloads
    pool.connect = (/** @type {any} */ callback) => {
      const started = performance.now();
      if (typeof callback === 'function') {
        return connect((/** @type {any[]} */ ...results) => {
          this.waits.record(performance.now() - started);
          callback(...results);
        });
      }
      return timed(this.waits, () => connect());
    };
  }
}

/** The process's datasource and pool metrics (engine/bridge/wasm-engine.mjs records them). */
export const datasourceMetrics = new DatasourceMetrics();

export class BridgeMetrics {
  /** @param {DatasourceMetrics} [datasource] */
  constructor(datasource = datasourceMetrics) {
    this.datasource = datasource;
    this.total = 0;
    this.active = 0;
    this.duration = new Histogram();
  }

  /**
   * Measure one Prisma Client query (a request, a batch being one).
   * @template T
   * @param {() => Promise<T>} operation
   */
  async measure(operation) {
    this.active += 1;
    try {
      return await timed(this.duration, operation);
    } finally {
      this.active -= 1;
      this.total += 1;
    }
  }

  /** Every metric by kind, each kind sorted by name, as the native registry's snapshot. */
  snapshot() {
    const { datasource } = this;
    const pool = datasource.pool ?? { totalCount: 0, idleCount: 0, waitingCount: 0 };
    return {
      counters: /** @type {[MetricName, number][]} */ ([
        ['prisma_client_queries_total', this.total],
        ['prisma_datasource_queries_total', datasource.queries.count],
        ['prisma_pool_connections_closed_total', datasource.closed],
        ['prisma_pool_connections_opened_total', datasource.opened],
      ]),
      gauges: /** @type {[MetricName, number][]} */ ([
        ['prisma_client_queries_active', this.active],
        ['prisma_client_queries_wait', pool.waitingCount],
        ['prisma_pool_connections_busy', pool.totalCount - pool.idleCount],
        ['prisma_pool_connections_idle', pool.idleCount],
        ['prisma_pool_connections_open', pool.totalCount],
      ]),
      histograms: /** @type {[MetricName, Histogram][]} */ ([
        ['prisma_client_queries_duration_histogram_ms', this.duration],
        ['prisma_client_queries_wait_histogram_ms', datasource.waits],
        ['prisma_datasource_queries_duration_histogram_ms', datasource.queries],
      ]),
    };
  }

  /**
   * The JSON format: histogram buckets count the samples of each bucket alone (formatters.rs, metrics_to_json).
   * @param {Record<string, string>} labels the client's global labels
   */
  json(labels = {}) {
    const { counters, gauges, histograms } = this.snapshot();
    /** @param {MetricName} key @param {unknown} value */
    const metric = (key, value) => ({ key, labels, value, description: DESCRIPTIONS[key] });
    return {
      counters: counters.map(([key, value]) => metric(key, value)),
      gauges: gauges.map(([key, value]) => metric(key, value)),
      histograms: histograms.map(([key, histogram]) => metric(key, {
        buckets: BUCKETS_MS.map((limit, index) => [limit, histogram.cumulative[index] - (histogram.cumulative[index - 1] ?? 0)]),
        sum: histogram.sum,
        count: histogram.count,
      })),
    };
  }

  /**
   * The Prometheus text format: cumulative buckets, labels sorted, a blank line after each metric.
   * @param {Record<string, string>} labels the client's global labels
   */
  prometheus(labels = {}) {
    const pairs = Object.entries(labels).map(([key, value]) => `${sanitizeLabelKey(key)}="${sanitizeLabelValue(String(value))}"`).sort();
    /** @param {string} name @param {number} value @param {string} [le] */
    const line = (name, value, le) => {
      const all = le === undefined ? pairs : [...pairs, `le="${le}"`];
      return `${name}${all.length ? `{${all.join(',')}}` : ''} ${value}\n`;
    };
    /** @param {MetricName} key @param {string} type */
    const header = (key, type) => `# HELP ${key} ${DESCRIPTIONS[key]}\n# TYPE ${key} ${type}\n`;
    const { counters, gauges, histograms } = this.snapshot();
    return [
      ...counters.map(([key, value]) => `${header(key, 'counter')}${line(key, value)}\n`),
      ...gauges.map(([key, value]) => `${header(key, 'gauge')}${line(key, value)}\n`),
      ...histograms.map(([key, histogram]) => [
        header(key, 'histogram'),
        ...BUCKETS_MS.map((limit, index) => line(`${key}_bucket`, histogram.cumulative[index], String(limit))),
        line(`${key}_bucket`, histogram.count, '+Inf'),
        line(`${key}_sum`, histogram.sum),
        line(`${key}_count`, histogram.count),
        '\n',
      ].join('')),
    ].join('');
  }
}

// metrics-exporter-prometheus's sanitising of label keys and values.
/** @param {string} key */
const sanitizeLabelKey = (key) => key.replace(/^[^a-zA-Z_]|[^a-zA-Z0-9_]/g, '_');
/** @param {string} value */
const sanitizeLabelValue = (value) => value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
