//! `pagefold plan`: what a run would do, before doing it. With `--probe`, the first page of
//! each chain is fetched, and the number of requests and the time the run will take are
//! estimated from what those pages say and how fast they came.

use std::fmt::Write as _;
use std::time::Duration;

use pagefold_fetch::{Auth, FetchError, FetchOptions, Fetcher, Probe, SafeUrl};

use pagefold::exit;
use pagefold::job::{Assignment, Job, ReducerUse};
use pagefold::output::RunStamp;
use pagefold::secrets;
use pagefold::terminal::failure::Failure;
use pagefold::terminal::progress::thousands;

/// `pagefold plan`.
pub(crate) fn run(path: &std::path::Path, probe: bool, shards: Option<u32>) -> Result<u8, Failure> {
    let job = super::load(path)?;
    let text = plan(&job, probe, shards).map_err(|error| {
        Failure::from_error(exit::RUN_FAILED, &error).with_hint(Some(
            "the first page of a chain could not be fetched".into(),
        ))
    })?;
    pagefold::terminal::print(&text);
    Ok(exit::SUCCESS)
}

/// The plan as text, and (with `probe`) its estimate.
///
/// # Errors
///
/// When probing, if a first page cannot be fetched.
fn plan(job: &Job, probe: bool, shards: Option<u32>) -> Result<String, FetchError> {
    let chains = job.source.chains();
    let fetch = job.fetch.options();
    let mut text = String::new();
    let _ = writeln!(text, "job `{}` from `{}`", job.name, job.path.display());
    let _ = writeln!(text, "limits: {}", limits(fetch));
    let _ = writeln!(text, "reducers: {}", reducers(job));
    if let Some(schedule) = schedule(job) {
        let _ = writeln!(text, "schedule: {schedule}");
    }
    if let Some(incremental) = incremental(job) {
        let _ = writeln!(text, "incremental: {incremental}");
    }
    let _ = writeln!(
        text,
        "{} chain{}:",
        chains.len(),
        if chains.len() == 1 { "" } else { "s" }
    );
    let probes = if probe {
        Some(probe_chains(fetch, &chains)?)
    } else {
        None
    };
    for (number, (assignment, source)) in chains.iter().enumerate() {
        let _ = write!(text, "  {}", first_request(assignment, source));
        if let Some(probes) = &probes {
            let _ = write!(text, "\n      → {}", probed(&probes[number]));
        }
        text.push('\n');
    }
    if let Some(child) = &job.child {
        let template = child.to_fetch();
        let url = SafeUrl::new(template.first_url(), &template.secret_params)
            .to_string()
            .replace("%7B", "{")
            .replace("%7D", "}");
        let _ = writeln!(
            text,
            "then, for each parent record: {} {url} (its `vars` filled in)",
            template.method
        );
    }
    let _ = writeln!(text, "output: {}", output(job));
    if let Some(shards) = shards {
        text.push_str(&super::plan_shards::section(
            job,
            &chains,
            probes.as_deref(),
            shards,
        ));
    }
    if let Some(probes) = &probes {
        for warning in fields_not_in(job, probes) {
            let _ = writeln!(text, "warning: {warning}");
        }
    }
    if let Some(probes) = &probes {
        let keys = job.source.auth.as_ref().map_or(1, |auth| auth.keys().len());
        let _ = writeln!(text, "{}", estimate(fetch, probes, keys));
    }
    Ok(secrets::redact(&text))
}

/// Each field a built-in reads that no record of the probed first pages has, with the closest
/// field they do have: a typo found before a full run.
fn fields_not_in(job: &Job, probes: &[Probe]) -> Vec<String> {
    use pagefold::engine::reduce::coverage::{closest, sample_fields};
    let records: Vec<&str> = probes
        .iter()
        .flat_map(|probe| split_records(&probe.records_json))
        .collect();
    if records.is_empty() || job.child.is_some() {
        // No record to judge by; a child's records are not the probed parents'.
        return Vec::new();
    }
    let mut fields = std::collections::BTreeSet::new();
    for record in records.iter().take(8) {
        sample_fields(record, &mut fields);
    }
    let mut warnings = Vec::new();
    for spec in &job.reduce {
        let ReducerUse::Builtin {
            field: Some(field), ..
        } = &spec.reducer
        else {
            continue;
        };
        let set = pagefold_json::PointerSet::new([field]);
        let had = records.iter().any(|record| {
            let mut found = set.scan_slots();
            set.scan(record, &mut found).is_ok() && found[0].is_some()
        });
        if !had {
            let near = closest(&field.to_string(), &fields)
                .map(|near| format!(": did you mean `{near}`?"))
                .unwrap_or_default();
            warnings.push(format!(
                "no record of the first page{} has `{field}` (read by `{}`){near}",
                if probes.len() == 1 { "" } else { "s" },
                spec.name
            ));
        }
    }
    warnings
}

/// The records of a JSON array, each as its text.
fn split_records(array: &str) -> Vec<&str> {
    pagefold_json::elements(array)
        .collect::<Result<Vec<&str>, _>>()
        .unwrap_or_default()
}

/// Where the result goes: the `[output]` file (for a run started now) and format, and its
/// database.
fn output(job: &Job) -> String {
    let Some(output) = &job.output else {
        return "stdout (no [output]; `-o FILE` on the command line)".to_owned();
    };
    let stamp = RunStamp::new(&job.name, chrono::Utc::now(), job.timezone);
    let mut places = Vec::new();
    if let (Some(path), Some(template)) = (output.path_for(&stamp), &output.path) {
        places.push(format!(
            "`{}` ({}){}",
            std::path::absolute(&path).unwrap_or(path).display(),
            output.format.as_str(),
            if template.varies() {
                " for a run started now"
            } else {
                ""
            }
        ));
    }
    if let Some(database) = &output.database {
        places.push(format!("the database `{}`", database.url.shown()));
    }
    places.join(" and ")
}

/// `N requests in flight, the rate, the timeout, retries`.
fn limits(fetch: &FetchOptions) -> String {
    let rate = fetch.rate.map_or_else(
        || "no rate limit".to_owned(),
        |rate| {
            format!(
                "at most {} requests per {:?} (burst {})",
                rate.count, rate.per, rate.burst
            )
        },
    );
    // The bounds on waiting are said only where the job sets them: the defaults are in
    // the README, and every plan would repeat them.
    let mut bounds = String::new();
    if fetch.max_retry_after != pagefold_fetch::DEFAULT_MAX_RETRY_AFTER {
        bounds.push_str(&format!(
            ", Retry-After waited out up to {:?}",
            fetch.max_retry_after
        ));
    }
    if let Some(deadline) = fetch.deadline {
        bounds.push_str(&format!(", deadline {deadline:?}"));
    }
    format!(
        "{} requests in flight, {rate}, timeout {:?}, {} retries{bounds}",
        fetch.concurrency, fetch.timeout, fetch.retries
    )
}

/// Each reducer with what it reads.
fn reducers(job: &Job) -> String {
    let reducers: Vec<String> = job
        .reduce
        .iter()
        .map(|spec| match &spec.reducer {
            ReducerUse::Builtin {
                kind,
                field: Some(field),
                ..
            } => format!("{} ({kind} {field})", spec.name),
            ReducerUse::Builtin {
                kind, field: None, ..
            } => format!("{} ({kind})", spec.name),
            ReducerUse::Plugin { path, .. } => format!("{} (plugin {})", spec.name, path.display()),
        })
        .collect();
    if reducers.is_empty() {
        "none".into()
    } else {
        reducers.join(", ")
    }
}

/// The schedule and its next run, if the job has one.
fn schedule(job: &Job) -> Option<String> {
    let schedule = job.schedule.as_ref()?;
    let next = schedule
        .upcoming(chrono::Utc::now(), 1)
        .first()
        .map_or_else(
            || "never".to_owned(),
            |t| t.format("%Y-%m-%d %H:%M:%S %Z").to_string(),
        );
    Some(format!(
        "`{}` in {} (next run {next}); overlap = \"{}\", missed = \"{}\"",
        schedule.expression,
        schedule.timezone,
        schedule.overlap.as_str(),
        schedule.missed.as_str()
    ))
}

/// What an incremental run asks for, if the job is incremental.
fn incremental(job: &Job) -> Option<String> {
    let spec = job.source.incremental.as_ref()?;
    Some(format!(
        "`{}` is sent the largest `{}` of the last successful run{}{}; \
         the first requests below are a first run's",
        spec.param,
        spec.field,
        spec.lag
            .map(|lag| format!(", less {}", humantime::format_duration(lag)))
            .unwrap_or_default(),
        if spec.carry {
            ", and reducers go on from its states"
        } else {
            ""
        }
    ))
}

/// The first page of every chain, fetched at most `concurrency` at a time.
fn probe_chains(
    fetch: &FetchOptions,
    chains: &[(Assignment, pagefold_fetch::Source)],
) -> Result<Vec<Probe>, FetchError> {
    let fetcher = Fetcher::new(fetch.clone())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime starts");
    let probes: Vec<_> = runtime.block_on(async {
        use futures_util::StreamExt;
        let fetcher = &fetcher;
        futures_util::stream::iter(
            chains
                .iter()
                .map(|(_, source)| async move { fetcher.probe(source).await }),
        )
        .buffered(fetch.concurrency.max(1))
        .collect()
        .await
    });
    probes.into_iter().collect()
}

/// A chain's partition values and first request, credentials hidden.
fn first_request(assignment: &Assignment, source: &pagefold_fetch::Source) -> String {
    let values: Vec<String> = assignment
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    let label = if values.is_empty() {
        String::new()
    } else {
        format!("[{}] ", values.join(" "))
    };
    let url = SafeUrl::new(source.first_url(), &source.secret_params);
    let auth = match &source.auth {
        None => String::new(),
        Some(Auth::Bearer(_)) => " with Authorization: Bearer ****".into(),
        Some(Auth::Basic { username, .. }) => {
            format!(" with Authorization: Basic {username}:****")
        }
        Some(Auth::Header { name, .. }) => format!(" with {name}: ****"),
        Some(Auth::Query { param, .. }) => format!(" with {param}=****"),
    };
    let body = source
        .first_body()
        .map(|body| {
            let text = String::from_utf8_lossy(&body);
            let shown: String = text.chars().take(BODY_SHOWN).collect();
            let more = if text.chars().count() > BODY_SHOWN {
                "…"
            } else {
                ""
            };
            format!("\n      body: {shown}{more}")
        })
        .unwrap_or_default();
    format!("{label}{} {url}{auth}{body}", source.method)
}

/// Characters of a request body shown in the plan.
const BODY_SHOWN: usize = 160;

/// What a chain's first page said.
fn probed(probe: &Probe) -> String {
    let pages = match (probe.pages, probe.beyond_max_pages) {
        (None, _) => "pages: unknown (no total)".to_owned(),
        (Some(pages), None) => format!("{} pages", thousands(pages)),
        (Some(pages), Some(reported)) => format!(
            "{} pages (`max_pages`; the API reports {}: the run will stop short of the end)",
            thousands(pages),
            thousands(reported)
        ),
    };
    let total = probe
        .total_records
        .map(|t| format!(", {} records reported", thousands(t)))
        .unwrap_or_default();
    format!(
        "{} records on the first page, {pages}{total}, {:.0?}",
        probe.records, probe.latency
    )
}

/// The requests and the time the run will take, from the probes; `rate` is each of the
/// `keys`' budget.
fn estimate(fetch: &FetchOptions, probes: &[Probe], keys: usize) -> String {
    let concurrency = fetch.concurrency;
    let known: u64 = probes.iter().filter_map(|p| p.pages).sum();
    let unknown = probes.iter().filter(|p| p.pages.is_none()).count();
    if known == 0 && unknown > 0 {
        return "estimate: none: no first page tells a total, so the run requests pages until \
                the end of the data (at most `max_pages` a chain)"
            .to_owned();
    }
    let latency = probes.iter().map(|p| p.latency).sum::<Duration>() / probes.len().max(1) as u32;
    let by_concurrency = latency.mul_f64(known as f64 / concurrency.max(1) as f64);
    let by_rate = fetch.rate.map_or(Duration::ZERO, |rate| {
        rate.per
            .mul_f64(known as f64 / (f64::from(rate.count.get()) * keys.max(1) as f64))
    });
    let mut text = format!("estimate: {known} requests");
    if unknown > 0 {
        let _ = write!(
            text,
            " (and more for {unknown} chain{} whose first page tells no total)",
            if unknown == 1 { "" } else { "s" }
        );
    }
    let _ = write!(
        text,
        "; ~{:.1?} at {concurrency} in flight and {:.0?} a request{}{}",
        by_concurrency.max(by_rate),
        latency,
        if by_rate > by_concurrency {
            " (the rate limit decides)"
        } else {
            ""
        },
        if keys > 1 {
            format!(", with {keys} keys")
        } else {
            String::new()
        }
    );
    text
}
