//! End-to-end tests: the `pagefold` binary against real HTTP servers on loopback, real plugin
//! libraries built from this workspace.

/// The sketching built-ins, `approx_distinct` and `approx_quantiles`, within their stated
/// bounds of the exact answers.
mod approx;
/// Credentials: every auth kind, tokens from the environment never shown, no token across origins.
mod auth;
/// Job files past what a person writes: over 10 MiB, lines of megabytes.
mod bounds;
/// Chained pagination: cursors, next URLs, Link headers, loops.
mod chains;
/// Parent → child: each parent record names a child chain.
mod children;
/// The command line: completions, man pages, `-o -`, history of every job.
mod cli;
/// The bad input corpus: every case fails cleanly with its message.
mod corpus;
/// `[output] url`: results as SQLite and PostgreSQL rows, exactly; kept while the database is down.
mod database;
/// The database down or unwritable: results kept and written by the next run; shared files.
mod database_kept;
/// The database over time: reruns replace, resumed runs keep their id, the schema migrates.
mod database_runs;
/// The deploy files: Kubernetes manifests under `kubernetes-validate`, the flags they and the
/// Dockerfile pass.
mod deploy;
/// Where a result goes is never destroyed: devices, FIFOs, symlinks, modes, read-only files.
mod destinations;
/// The example jobs of `jobs/`, against the demo API.
/// What a result proves: coverage, warnings with their place, how chains ended.
mod evidence;
mod examples;
/// Exact results under injected faults; Retry-After honoured.
mod faults;
/// Fuzzing with a fixed budget: the job-file parser, page bodies through every reducer and
/// `map`.
mod fuzz;
/// A loopback API whose answers wait until the test lets them go.
mod gate;
/// The hostile-server kit: one table of what an attacker's server sends, each with its outcome.
mod hostile;
/// Incremental runs: only what is new, nothing folded twice, carried totals.
mod incremental;
/// `pagefold init URL`: a job from one look at an API, on every endpoint of the demo API.
mod init;
/// Job runs over the demo API: pagination, ends, caps, totals, retries, errors.
mod jobs;
/// Several API keys, a budget each, against an API that meters every token.
mod keys;
/// Rate limits, the job's and the API's, measured on the server side.
mod limits;
/// `map`: jq programs that reshape and filter records.
mod map;
/// Exact numbers: decimal sums, integers past 64 bits, extremes, never a silent `null`.
mod numbers;
/// Operating it: metrics (endpoint, file, Pushgateway), webhooks, alert rules, the dashboard.
mod observe;
/// Credentials stay on the job's origin: next URLs, Link headers and redirects to another.
mod origins;
/// Output paths with placeholders, ndjson and csv, and `pagefold history`.
mod outputs;
/// Partitions: value lists and date windows, side by side, reported each.
mod partitions;
/// `pagefold plan`, plain and probed.
mod plan;
/// Reducer plugins built from this workspace: exact results, and every way loading can fail.
mod plugins;
/// A throwaway PostgreSQL server on loopback, one for the test binary.
mod postgres_server;
/// Prometheus's checks (`promtool`) and a reader of the metrics text format.
mod promtool;
/// Proxies from the environment: forwarded `http`, `NO_PROXY`, `CONNECT` tunnels for `https`.
mod proxy;
/// Loopback receivers of webhooks and Pushgateway pushes.
mod receivers;
/// `pagefold report`: the HTML report, rendered in headless Chromium and read back.
mod report;
/// Crash and resume: kill -9 at any moment, SIGTERM, a changed job.
mod resume;
/// The scheduler on a hand-moved clock, and `pagefold schedule` on real time.
mod schedule;
/// `pagefold schema` against an independent validator.
mod schema;
/// Real APIs' shapes: errors past the end, totals and next pages in headers, GraphQL, POST.
mod shapes;
/// What a shard and a merge say when they end, pinned as snapshots.
mod shard_lines;
/// Sharded runs: an Indexed Job simulated on loopback, merged exactly; parts refused by name.
mod shards;
/// The same with parts and checkpoints in a real S3-compatible server (moto) on loopback.
mod shards_s3;
/// The state folder: locks, job names, damaged files, a torn or bad history.
mod state_folder;
/// What a run says it did: the summary line's estimate, `stats` as the README defines them.
mod stats;
/// Helpers: servers, job files, running the binary, expected values, snapshot filters.
mod support;
/// HTTPS against a private CA: trusted through `SSL_CERT_FILE`, refused without it; HTTP/2.
mod tls;
/// `run --trace`: the Chrome trace of a run, its tracks, requests and retries.
mod trace;
/// `pagefold validate` as a dry run: plugins built with their config, the output folder.
mod validate;
/// What users read, pinned as insta snapshots: help, validate, plan, history, the summary line.
mod wording;
