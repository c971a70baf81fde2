//! The rules of `[child]`, the parent → child shape: what the parent and the child may hold.

use toml::Spanned;

use super::{Problem, SourceSpec};

/// Checks `[source]` as a parent and `[child]`, if there is one.
pub(crate) fn check(
    parent: &SourceSpec,
    child: Option<&Spanned<SourceSpec>>,
    problems: &mut Vec<Problem>,
) {
    if !parent.vars.is_empty() || !parent.carry.is_empty() {
        problems.push(Problem::new(
            0..0,
            "`vars` and `carry` belong to [child], not [source]",
        ));
    }
    if let Some(child) = child {
        let span = child.span();
        let child = child.get_ref();
        child.check(problems);
        if let Some(incremental) = &child.incremental {
            problems.push(Problem::new(
                incremental.span(),
                "[child.incremental] is not supported: only [source.incremental], without [child]",
            ));
        }
        if let Some(incremental) = &parent.incremental {
            problems.push(Problem::new(
                incremental.span(),
                "[source.incremental] does not work with [child] yet: the mark would be of the parents",
            ));
        }
        if child.partitions.is_some() {
            problems.push(Problem::new(
                span.clone(),
                "[child] cannot have partitions: partition [source], the parent, instead",
            ));
        }
        if child.vars.is_empty() {
            problems.push(
                Problem::new(span.clone(), "[child] needs `vars`: the fields of each parent record its URL uses")
                    .hint("e.g. vars = { repo = \"/full_name\" } and url = \"https://api.github.com/repos/{repo}/issues\""),
            );
        }
        if let Some(unknown) = child
            .carry
            .iter()
            .find(|name| !child.vars.contains_key(*name))
        {
            problems.push(Problem::new(
                span,
                format!("`carry` names `{unknown}`, which is not in `vars`"),
            ));
        }
    }
}
