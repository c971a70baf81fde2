//! What fetching one page needs: where, with which key, how to parse it.

use std::sync::Arc;

use bytes::Bytes;
use http::header::HeaderMap;
use url::Url;

use crate::page_parser::PageParser;
use crate::request::{MetaHeaders, Target};
use crate::{Auth, Secrets, Source};

/// How a page's key is chosen.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyFor {
    /// The chain's own key: its cursors were issued to it.
    Chain,
    /// The key with the most room: numbered pages can go with any key.
    Page,
}

pub(crate) struct PageRequest<'a> {
    pub key: Option<Arc<crate::Key>>,
    pub keys: Option<&'a crate::KeyRing>,
    pub key_for: KeyFor,
    pub url: Url,
    pub body: Option<Bytes>,
    pub method: http::Method,
    pub retry_post: bool,
    pub meta_headers: MetaHeaders,
    pub origin: &'a Url,
    pub secrets: &'a Secrets,
    pub headers: &'a HeaderMap,
    pub auth: Option<&'a Auth>,
    pub secret_params: &'a [String],
    pub parser: &'a PageParser,
    pub chain: u32,
    pub index: u64,
}

impl<'a> PageRequest<'a> {
    /// A request for page `index` of chain `chain` of `source`, as `target` says.
    pub fn new(
        source: &'a Source,
        parser: &'a PageParser,
        chain: u32,
        index: u64,
        target: Target,
    ) -> Self {
        let key_for = match source.pagination {
            crate::Pagination::Numbered(_) => KeyFor::Page,
            _ => KeyFor::Chain,
        };
        let keys = source.keys.as_deref();
        let key = keys.and_then(|ring| match key_for {
            KeyFor::Chain => ring.for_chain(chain),
            KeyFor::Page => ring.with_most_room(chain, index),
        });
        Self {
            key,
            keys,
            key_for,
            url: target.url,
            body: target.body,
            method: source.method.clone(),
            retry_post: source.retry_post,
            meta_headers: source.meta_headers(),
            origin: &source.origin,
            secrets: &source.secrets,
            headers: &source.headers,
            auth: source.auth.as_ref(),
            secret_params: &source.secret_params,
            parser,
            chain,
            index,
        }
    }
}
