//! `pagefold validate JOB`: the job file checked without fetching anything; for a scheduled
//! job, its next five run times.

use std::path::Path;

use pagefold::exit;
use pagefold::terminal::failure::Failure;
use pagefold::terminal::{print, say};

use super::load;

/// `pagefold validate`.
pub(crate) fn run(path: &Path) -> Result<u8, Failure> {
    let job = load(path)?;
    say(&format!(
        "`{}` is a valid job: `{}`, {} reducer{}",
        job.path.display(),
        job.name,
        job.reduce.len(),
        if job.reduce.len() == 1 { "" } else { "s" }
    ));
    // A plugin built without optimisations runs several times slower: said before a run.
    for spec in &job.reduce {
        if let pagefold::job::ReducerUse::Plugin { path, .. } = &spec.reducer
            && let Ok(library) = pagefold::engine::reduce::PluginLibrary::load(path)
            && let Some(warning) = library.info().build_warning()
        {
            pagefold::terminal::warn(&warning);
        }
    }
    if let Some(schedule) = &job.schedule {
        print(&format!(
            "schedule `{}` in {}; the next five runs:\n",
            schedule.expression, schedule.timezone
        ));
        for time in schedule.upcoming(chrono::Utc::now(), 5) {
            print(&format!(
                "  {}  ({})\n",
                time.format("%a %Y-%m-%d %H:%M:%S %Z"),
                time.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%dT%H:%M:%SZ")
            ));
        }
    }
    Ok(exit::SUCCESS)
}
