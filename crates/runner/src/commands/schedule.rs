//! `pagefold schedule`: the scheduler on the system clock, its events printed on stderr, and
//! SIGTERM and SIGINT passed to it.

use pagefold::exit;
use pagefold::observe::{FINISH_WITHIN, endpoint};
use pagefold::schedule::{
    ChildArgs, ChildProgram, ScheduleError, Scheduler, SchedulerOptions, SystemClock, run_child,
};
use pagefold::state::StateDir;
use pagefold::terminal::failure::Failure;

use super::cli::ScheduleArgs;
use super::{load_alerts, observe_failure, observer, state_failure};

/// `pagefold schedule`: runs until SIGTERM or Ctrl-C (exit 0), or with `--once` until what is
/// due has run (exit 1 if a run failed).
pub(crate) fn run(args: ScheduleArgs, verbose: u8) -> Result<u8, Failure> {
    let state = StateDir::open(args.state.as_deref()).map_err(state_failure)?;
    let alerts = args.alerts.as_deref().map(load_alerts).transpose()?;
    let observer = observer(&args.publish, alerts)?;
    let options = SchedulerOptions {
        paths: args.paths,
        state,
        once: args.once,
        max_running: usize::from(args.max_running),
        grace: args.grace,
        late: args.late,
        reload_every: args.reload_every,
        workers: args.workers.map(usize::from),
        trace: args.trace,
        observer: observer.clone(),
        child: Some(child_program(verbose)?),
    };
    let once = args.once;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|error| Failure::from_error(exit::RUN_FAILED, &error))?;
    let code = runtime.block_on(async {
        let endpoint = match args.metrics {
            Some(addr) => {
                let listener = endpoint::bind(addr).await.map_err(observe_failure)?;
                let at = listener.local_addr().unwrap_or(addr);
                pagefold::terminal::say(&format!(
                    "{} serving metrics at http://{at}/metrics",
                    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
                ));
                Some(tokio::spawn(endpoint::serve(
                    listener,
                    observer.metrics().clone(),
                )))
            }
            None => None,
        };
        let (events_to, mut events) = tokio::sync::mpsc::unbounded_channel();
        let (scheduler, runs) =
            Scheduler::new(options, std::sync::Arc::new(SystemClock), events_to)
                .map_err(schedule_failure)?;
        let deny_all = args.deny_warnings;
        let printer = tokio::spawn(async move {
            let (mut failed, mut denied) = (false, false);
            while let Some(event) = events.recv().await {
                if let pagefold::schedule::Event::Finished {
                    entry,
                    deny_warnings,
                    ..
                } = &event
                {
                    use pagefold::state::history::Status;
                    failed |= entry.status == Status::Failed;
                    denied |= entry.status == Status::Warnings && (deny_all || *deny_warnings);
                }
                let line = format!(
                    "{} {event}",
                    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
                );
                pagefold::terminal::say(&line);
            }
            (failed, denied)
        });
        let (signals_to, signals) = tokio::sync::mpsc::unbounded_channel();
        let signals_task = tokio::spawn(forward_signals(signals_to));
        scheduler.run(runs, signals).await;
        signals_task.abort();
        if let Some(endpoint) = endpoint {
            endpoint.abort();
        }
        let (failed, denied) = printer.await.unwrap_or((true, false));
        // A long-running scheduler that was asked to stop has done its job; `--once` is one
        // batch, and tells cron or Kubernetes whether it failed.
        Ok::<u8, Failure>(match (once, failed, denied) {
            (true, true, _) => exit::RUN_FAILED,
            (true, false, true) => exit::WARNINGS,
            _ => exit::SUCCESS,
        })
    })?;
    // Off the runtime: alerts and pushes still under way get a bounded time to arrive.
    observer.finish(FINISH_WITHIN);
    Ok(code)
}

/// This binary, which runs each scheduled run in a process of its own (with the scheduler's
/// verbosity).
fn child_program(verbose: u8) -> Result<ChildProgram, Failure> {
    let program = std::env::current_exe().map_err(|error| {
        Failure::from_error(exit::RUN_FAILED, &error)
            .with_hint(Some("pagefold runs each scheduled run as a process of its own, and must find its own executable".into()))
    })?;
    let args = (verbose > 0)
        .then(|| format!("-{}", "v".repeat(usize::from(verbose))).into())
        .into_iter()
        .collect();
    Ok(ChildProgram { program, args })
}

/// `pagefold scheduled-run`: one scheduled run, in the process the scheduler started for it.
pub(crate) fn child(args: ChildArgs) -> Result<u8, Failure> {
    run_child(args).map_err(|error| Failure::from_error(exit::RUN_FAILED, &error))?;
    Ok(exit::SUCCESS)
}

/// Sends SIGTERM and SIGINT to the scheduler as they arrive.
async fn forward_signals(to: tokio::sync::mpsc::UnboundedSender<&'static str>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut terminate), Ok(mut interrupt)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        loop {
            let name = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            if to.send(name).is_err() {
                return;
            }
        }
    }
    #[cfg(not(unix))]
    while tokio::signal::ctrl_c().await.is_ok() {
        if to.send("SIGINT").is_err() {
            return;
        }
    }
}

fn schedule_failure(error: ScheduleError) -> Failure {
    let code = match &error {
        ScheduleError::State(_) => exit::RUN_FAILED,
        _ => exit::INVALID_INPUT,
    };
    let hint = error.hint();
    match error {
        // Already laid out with its place, line and hint.
        ScheduleError::Invalid(message) => Failure {
            code,
            message,
            snippet: None,
            causes: Vec::new(),
            hint: None,
        },
        other => Failure::from_error(code, &other).with_hint(hint),
    }
}
