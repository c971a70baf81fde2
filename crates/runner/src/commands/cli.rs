//! The command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// Pull everything out of paginated HTTP APIs, concurrently, and aggregate it.
#[derive(Debug, Parser)]
#[command(
    name = "pagefold",
    version,
    about,
    propagate_version = true,
    after_help = "Examples:
  pagefold demo                              the built-in demo API and job, no set-up
  pagefold init 'https://api.example/items'  a job file from one look at an API
  pagefold plan --probe job.toml             what a run would do, and how long it would take
  pagefold run job.toml -o -                 run it, the result on stdout

Exit codes:
  0    success
  1    the run failed (nothing was written)
  2    the job file or the command line is invalid (nothing was fetched)
  3    finished with skipped pages (on_error = \"skip\"); the result lists them
  4    finished with warnings, and warnings are denied (--deny-warnings, deny_warnings = true)
  130  stopped by Ctrl-C, 143 by SIGTERM (progress saved when checkpoints are on)"
)]
pub struct Cli {
    /// More log output on stderr (-v: info, -vv: debug). Secrets are never logged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a job file: fetch every page, reduce, write the result.
    #[command(after_help = "Examples:
  pagefold run jobs/demo.toml                 the result where [output] says, or on stdout
  pagefold run job.toml -o out.csv            as CSV (the format follows the extension)
  pagefold run job.toml --checkpoint ckpt/    an interrupted run resumes where it stopped
  pagefold run job.toml --shard 0/4 --parts /shared/parts --run-id nightly-1   one shard of four

Exit codes: 0 success, 1 failed, 2 invalid job or command line, 3 skipped pages,
4 warnings with --deny-warnings, 130/143 stopped by Ctrl-C/SIGTERM.")]
    Run(RunArgs),
    /// Merge the parts of a run split into shards (`run --shard`) into its result.
    #[command(after_help = "Examples:
  pagefold merge job.toml --parts /shared/parts --run-id nightly-1   once every shard is done
  pagefold merge job.toml --parts s3://bucket/parts --wait 10m       wait for the last parts")]
    Merge(super::shard_cli::MergeArgs),
    /// Check a job file without fetching anything; show a schedule's next run times.
    #[command(after_help = "Examples:
  pagefold validate job.toml                  check it; exit 2 with file:line:col when wrong
  for f in jobs/*.toml; do pagefold validate \"$f\" || exit; done")]
    Validate {
        /// The job file.
        job: PathBuf,
    },
    /// Run the scheduled jobs of these files and folders at their times, until stopped.
    #[command(after_help = "Examples:
  pagefold schedule jobs/                     every scheduled job in the folder, until stopped
  pagefold schedule jobs/ --once              the runs due now, then exit (for cron or a CronJob)")]
    Schedule(ScheduleArgs),
    /// Show the run history of a job (a job file, or a job name).
    #[command(after_help = "Examples:
  pagefold history                            every job of the state folder, its last run and next
  pagefold history jobs/orders.toml -n 5      the last five runs of a job
  pagefold history orders --show RUN_ID       the result document of one run")]
    History {
        /// The job file, or the job's name (without it: every job of the state folder).
        job: Option<String>,
        /// The state directory (default: pagefold in the user's data folder).
        #[arg(long, env = pagefold::state::STATE_ENV)]
        state: Option<PathBuf>,
        /// Show the last N runs.
        #[arg(short = 'n', long, default_value_t = 20)]
        limit: usize,
        /// Print the entries as JSON Lines instead of a table.
        #[arg(long)]
        json: bool,
        /// Print the result document of run RUN_ID (from `history JOB`'s list or `--json`).
        #[arg(long, value_name = "RUN_ID", requires = "job")]
        show: Option<String>,
    },
    /// Draw a run's trace and the job's history as one self-contained HTML file.
    #[command(after_help = "Examples:
  pagefold run job.toml --trace run.json && pagefold report job.toml --trace run.json
  pagefold report job.toml -o runs.html      the history only, or the newest trace that
                                             `schedule --trace` kept in the state folder")]
    Report(ReportArgs),
    /// Show what a run would do: its chains, first requests (secrets hidden) and limits.
    #[command(after_help = "Examples:
  pagefold plan job.toml                      chains, first requests, limits; nothing fetched
  pagefold plan --probe job.toml              fetch each chain's first page to estimate the run")]
    Plan {
        /// The job file.
        job: PathBuf,
        /// Fetch the first page of each chain and estimate the requests and the time.
        #[arg(long)]
        probe: bool,
        /// Show how the work divides into N shards (`run --shard I/N`).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(pagefold::shard::MAX_SHARDS)))]
        shards: Option<u32>,
    },
    /// Serve the fake demo API on loopback and run jobs/demo.toml against it.
    #[command(after_help = "Examples:
  pagefold demo                               the demo API on loopback and jobs/demo.toml against it")]
    Demo(super::demo_cli::DemoArgs),
    /// Serve the fake demo API until interrupted, to try jobs against.
    #[command(after_help = "Examples:
  pagefold demo-api --port 8080               then try: curl 'http://127.0.0.1:8080/orders?page=2'")]
    DemoApi(super::demo_cli::DemoApiArgs),
    /// Reducer plugins.
    #[command(subcommand)]
    #[command(after_help = "Examples:
  pagefold plugin new my_reducer              a plugin crate to start from
  pagefold plugin check target/release/libmy_reducer.so")]
    Plugin(PluginCommand),
    /// Write a job file for an API from one look at it: records, pagination, totals.
    #[command(after_help = "Examples:
  pagefold init 'https://api.example/items' -o items.toml")]
    Init(InitArgs),
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish.
    #[command(after_help = "Examples:
  pagefold completions bash > ~/.local/share/bash-completion/completions/pagefold
  pagefold completions zsh > ~/.zfunc/_pagefold")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write a man page for pagefold and each of its commands into a folder.
    #[command(after_help = "Examples:
  pagefold man /usr/local/share/man/man1 && man pagefold-run")]
    Man {
        /// The folder (made if missing).
        dir: PathBuf,
    },
    /// Print the job file's JSON Schema, for editors (Even Better TOML, taplo).
    #[command(after_help = "Examples:
  pagefold schema > pagefold.schema.json      then put `#:schema ./pagefold.schema.json` atop a job")]
    Schema,
    /// One run of a scheduled job, in a process of its own: what `pagefold schedule` starts
    /// for each run, so that no run can crash the scheduler. Not for users.
    #[command(name = pagefold::schedule::CHILD_SUBCOMMAND, hide = true)]
    ScheduledRun(pagefold::schedule::ChildArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The API's URL (its first page).
    pub url: url::Url,
    /// Write the job file here (default: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Replace the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// The environment variable that holds a bearer token (the file names it, never its value).
    #[arg(long, value_name = "NAME")]
    pub bearer_env: Option<String>,
    /// A header to send, `Name: value` (repeatable); a credential is written as `${env.NAME}`.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Write a new plugin crate that builds and loads as it is, with the SDK's source inside.
    New {
        /// The crate name (lower case, digits, `_`).
        name: String,
        /// The folder to create it in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Load a built plugin and show what it is; with --config, build its reducer too.
    Check {
        /// The plugin library (`target/release/libNAME.so`).
        library: PathBuf,
        /// The reducer's `config`, as JSON, to build it with (as a run would).
        #[arg(long)]
        config: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The job file.
    pub job: PathBuf,
    /// Replace a job-file value for this run, e.g. `--set fetch.concurrency=8` or
    /// `--set source.query.status=open` (repeatable; checked like the file).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Write the result here instead of the job's `[output]` or stdout (`-`: stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Reduce worker threads (default: the job's `fetch.workers`; else, with a plugin or `map`, the number of cores; else none: built-ins fold beside the requests)
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// No progress bar and no summary line.
    #[arg(short, long)]
    pub quiet: bool,
    /// A run with warnings exits with 4 (as `deny_warnings = true` in the job does), so that
    /// an unattended run's warnings fail it.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Save progress in this folder, and resume from it: after a crash, a kill or Ctrl-C,
    /// the same command goes on where the run stopped (overrides the job's `[checkpoint]`).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// How often to save progress (default 5s).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub checkpoint_every: Option<Duration>,
    /// The state directory: run history, incremental marks (default: pagefold in the user's
    /// data folder).
    #[arg(long, env = pagefold::state::STATE_ENV)]
    pub state: Option<PathBuf>,
    /// Write the run as a trace (Chrome trace event format) to FILE: open it in Perfetto
    /// (ui.perfetto.dev) or chrome://tracing, or draw it with `pagefold report`.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    #[command(flatten)]
    pub metrics: MetricsOutputArgs,
    #[command(flatten)]
    pub shard: super::shard_cli::ShardArgs,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The job file.
    pub job: PathBuf,
    /// The trace of the run to draw (from `run --trace FILE`; default: the newest one that
    /// `schedule --trace` kept in the state folder, if any).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// The state directory whose history of the job is drawn (default: pagefold in the
    /// user's data folder).
    #[arg(long, env = pagefold::state::STATE_ENV)]
    pub state: Option<PathBuf>,
    /// Write the report here.
    #[arg(short, long, default_value = "report.html")]
    pub output: PathBuf,
}

/// Where a process that no Prometheus scrapes leaves its metrics.
#[derive(Debug, Args)]
pub struct MetricsOutputArgs {
    /// Write the metrics to this file, atomically, for node_exporter's textfile collector (a
    /// `*.prom` file in its --collector.textfile.directory).
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    /// Push the metrics to this Prometheus Pushgateway (e.g. http://pushgateway:9091), a group
    /// a job.
    #[arg(long, value_name = "URL", value_parser = http_url)]
    pub pushgateway: Option<url::Url>,
}

/// An http or https URL.
fn http_url(text: &str) -> Result<url::Url, String> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err("not an http or https URL (e.g. http://pushgateway:9091)".into()),
    }
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// Job files, and folders whose `*.toml` files with a `schedule` are run.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The state directory: run history, last run times, incremental marks, checkpoints of
    /// stopped runs (default: pagefold in the user's data folder).
    #[arg(long, env = pagefold::state::STATE_ENV)]
    pub state: Option<PathBuf>,
    /// Run what is due now and exit (for system cron, systemd timers, Kubernetes CronJobs).
    #[arg(long)]
    pub once: bool,
    /// With --once: a run with warnings makes the exit 4 (as `deny_warnings = true` in its
    /// job does), unless one failed (1).
    #[arg(long, requires = "once")]
    pub deny_warnings: bool,
    /// At most this many runs at a time, over all jobs.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_running: u16,
    /// On SIGTERM or Ctrl-C, how long running jobs may go on before they are checkpointed
    /// and stopped.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub grace: Duration,
    /// How late a run may start and still be on time; later, it counts as missed (see
    /// `missed` in the job).
    #[arg(long, default_value = "1m", value_parser = humantime::parse_duration)]
    pub late: Duration,
    /// How often to look for changed, added or removed job files.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub reload_every: Duration,
    /// Reduce worker threads a run (default: each job's `fetch.workers`, else the cores).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub workers: Option<u16>,
    /// Trace every run (Chrome trace event format), a file a run in the state folder:
    /// JOB/traces/RUN_ID.json, which `pagefold report` draws.
    #[arg(long)]
    pub trace: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464; port 0: any free
    /// port, printed at start).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub publish: MetricsOutputArgs,
    /// Post alerts to the webhooks of this file's `[alerts]` table (as in a job file), for
    /// every job whose own `[alerts]` does not name that key.
    #[arg(long, value_name = "FILE")]
    pub alerts: Option<PathBuf>,
}
