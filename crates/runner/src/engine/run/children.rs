//! Parent → child fetching.

use pagefold_fetch::{FetchError, FetchSummary, Fetcher, Page, Resume};

use crate::engine::reduce::{Reducers, Work};
use crate::job::{Assignment, Job, Source, fill_source};

/// Parent → child: the parent source's records are not reduced; each names a child chain
/// (its `vars` filled into `[child]`), whose records are.
pub(super) struct Children<'a> {
    pub(super) job: &'a Job,
    pub(super) child: &'a Source,
    /// The parent's keys, when it has several.
    pub(super) keys: &'a Option<std::sync::Arc<pagefold_fetch::KeyRing>>,
    pub(super) reducers: &'a Reducers,
    /// Pages reduced before a resume, by chain.
    pub(super) done: &'a std::collections::BTreeMap<u32, std::collections::BTreeSet<u64>>,
    /// The run's trace, if it is traced: the parents' requests go on tracks of their own.
    pub(super) trace: Option<&'a crate::trace::Trace>,
    /// In a shard: the child chains are dealt, each to one shard.
    pub(super) shard: Option<crate::shard::Shard>,
}

impl Children<'_> {
    /// Fetches the parents and, as their records arrive, at most `concurrency` child chains at
    /// a time. Returns the parents' summary and each child chain's.
    pub(super) async fn fetch(
        &self,
        fetcher: &Fetcher,
        parents: &[(Assignment, pagefold_fetch::Source)],
        work: &async_channel::Sender<Work>,
        progress: &dyn pagefold_fetch::FetchObserver,
        concurrency: usize,
    ) -> Result<(FetchSummary, Vec<(String, FetchSummary)>), FetchError> {
        use futures_util::StreamExt;
        let (pages, parent_pages) = async_channel::bounded::<Page>(concurrency.max(1));
        let parents_done = async move {
            let silent = pagefold_fetch::NoObserver;
            // The parents' pages are not the bar's, but their requests are the trace's.
            let traced = self.trace.map(|trace| crate::trace::Traced {
                trace,
                role: crate::trace::Role::Parent,
                inner: &pagefold_fetch::NoObserver,
            });
            let silent: &dyn pagefold_fetch::FetchObserver = match &traced {
                Some(traced) => traced,
                None => &silent,
            };
            let runs = parents.iter().enumerate().map(|(chain, (_, source))| {
                let pages = pages.clone();
                async move {
                    fetcher
                        .run(source, chain as u32, pages, silent, &Resume::default())
                        .await
                }
            });
            let summaries: Vec<Result<FetchSummary, FetchError>> = futures_util::stream::iter(runs)
                .buffer_unordered(concurrency.max(1))
                .collect()
                .await;
            let mut total = FetchSummary::default();
            for summary in summaries {
                total.absorb(summary?);
            }
            Ok::<_, FetchError>(total)
        };
        let template = self.template();
        let vars: Vec<(&String, &pagefold_json::Pointer)> = self.child.vars.iter().collect();
        let fields = pagefold_json::PointerSet::new(vars.iter().map(|(_, pointer)| *pointer));
        let (template, vars, fields) = (&template, &vars, &fields);
        // `parent_pages` moves in: when the children stop, for whatever reason, the channel
        // closes and the parents stop too instead of waiting on it forever.
        let children_done = async move {
            let parent_pages = parent_pages;
            let mut pending = std::collections::VecDeque::new();
            let mut running = futures_util::stream::FuturesUnordered::new();
            let mut summaries = Vec::new();
            let mut lacking = 0u64;
            let mut parents_open = true;
            loop {
                while running.len() < concurrency.max(1)
                    && let Some((chain, place, source, resume)) = pending.pop_front()
                {
                    running.push(async move {
                        let resume: Resume = resume;
                        fetcher
                            .run(&source, chain, work.clone(), progress, &resume)
                            .await
                            .map(|s| (chain, place, s))
                    });
                }
                tokio::select! {
                    page = parent_pages.recv(), if parents_open && pending.len() < concurrency.max(1) => match page {
                        Ok(page) => lacking += self.children_of(&page, fields, vars, template, &mut pending),
                        Err(_) => parents_open = false,
                    },
                    Some(done) = running.next() => summaries.push(done?),
                    else => break,
                }
            }
            summaries.sort_by_key(|(chain, _, _)| *chain);
            let summaries: Vec<(String, FetchSummary)> = summaries
                .into_iter()
                .map(|(_, place, summary)| (place, summary))
                .collect();
            Ok::<_, FetchError>((summaries, lacking))
        };
        let (parents, children) = tokio::join!(parents_done, children_done);
        // A child's failure is the cause; the parents then only saw a closed channel.
        let (children, lacking) = children?;
        let mut parents = parents?;
        if lacking > 0 {
            parents.warnings.push(format!(
                "{lacking} parent record{} lack a field of `vars`: no child request for {}",
                if lacking == 1 { "" } else { "s" },
                if lacking == 1 { "it" } else { "them" }
            ));
        }
        Ok((parents, children))
    }

    /// The child source before `vars` are filled in; it inherits the parent's credentials
    /// when it has none and lives on the same origin.
    fn template(&self) -> pagefold_fetch::Source {
        let mut template = self.child.to_fetch();
        // Many chains share the limit: each asks for its first page alone.
        template.speculation = 1;
        let parent = self.job.source.to_fetch();
        if template.auth.is_none() && template.url.origin() == parent.url.origin() {
            template.auth = parent.auth;
            // The parent's keys and their budgets are shared by its children.
            template.keys.clone_from(self.keys);
        }
        template
    }

    /// Queues the child chains a parent page names; returns how many records lacked a var.
    fn children_of(
        &self,
        page: &Page,
        fields: &pagefold_json::PointerSet,
        vars: &[(&String, &pagefold_json::Pointer)],
        template: &pagefold_fetch::Source,
        pending: &mut std::collections::VecDeque<(u32, String, pagefold_fetch::Source, Resume)>,
    ) -> u64 {
        let mut lacking = 0;
        let records = page.records_json();
        for (number, &(start, end)) in page.record_bounds().iter().enumerate() {
            let mut found = fields.scan_slots();
            let record = records.get(start as usize..end as usize).unwrap_or("null");
            if fields.scan(record, &mut found).is_err()
                || found.iter().any(|v| v.is_none_or(|v| v == "null"))
            {
                lacking += 1;
                continue;
            }
            let values: Assignment = vars
                .iter()
                .zip(&found)
                .map(|((name, _), value)| {
                    let value = value.unwrap_or("null");
                    let text =
                        serde_json::from_str::<String>(value).unwrap_or_else(|_| value.to_owned());
                    ((*name).clone(), text)
                })
                .collect();
            // The parent's page and record decide the child's chain: the same on every run.
            let chain =
                (page.chain() as u64 * 1_000_003 + page.index() * 65_536 + number as u64) as u32;
            if let Some(shard) = self.shard
                && !crate::shard::deal::takes_child(chain, shard)
            {
                continue;
            }
            if !self.child.carry.is_empty() {
                let carried: serde_json::Map<String, serde_json::Value> = vars
                    .iter()
                    .zip(&found)
                    .filter(|((name, _), _)| self.child.carry.contains(name))
                    .map(|((name, _), value)| {
                        (
                            (*name).clone(),
                            serde_json::from_str(value.unwrap_or("null")).unwrap_or_default(),
                        )
                    })
                    .collect();
                self.reducers
                    .carry(chain, serde_json::Value::Object(carried).to_string());
            }
            let resume = Resume {
                done: self.done.get(&chain).cloned().unwrap_or_default(),
                ..Resume::default()
            };
            let mut source = fill_source(template, &values);
            // The parent's records fill the URL: they do not decide where credentials go.
            source.origin = template.origin.clone();
            let place = format!(
                "the child chain of parent {}",
                crate::secrets::redact(&label(&values))
            );
            pending.push_back((chain, place, source, resume));
        }
        lacking
    }
}

/// `repo=a/b, shard=3`: a partition's or a parent record's values, to say where a warning
/// comes from.
pub(super) fn label(values: &Assignment) -> String {
    values
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ")
}
