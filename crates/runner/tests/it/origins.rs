//! Credentials stay on their origin: two servers on two ports (two origins); pages of the first
//! name pages of the second through a next URL, a `Link` header or a redirect. The second never
//! sees a credential or a job header, whatever the auth kind; it sees nothing at all unless the
//! job says `follow_other_origins = true`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::support::{Workspace, pagefold_with_env};

const TOKEN: &str = "tok-7Hq2vZ9xLm4Pw8Rt";
const SESSION: &str = "sess-Kd83jfQ0aXr2";

/// A request as a server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
}

/// A loopback server that records every request and answers from `route`.
pub struct Recorder {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    _server: crate::support::Serving,
}

impl Recorder {
    pub fn start(route: fn(&Seen, &str) -> Response) -> Self {
        let port = crate::support::Loopback::bind();
        let addr = port.addr;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let base = format!("http://{addr}");
        let app = Router::new()
            .fallback(get(
                move |State(seen): State<Arc<Mutex<Vec<Seen>>>>,
                      uri: Uri,
                      RawQuery(query): RawQuery,
                      headers: HeaderMap| async move {
                    let request = Seen {
                        path: uri.path().to_owned(),
                        query: query.unwrap_or_default(),
                        headers: headers
                            .iter()
                            .map(|(name, value)| {
                                (
                                    name.as_str().to_owned(),
                                    value.to_str().unwrap_or("").to_owned(),
                                )
                            })
                            .collect(),
                    };
                    seen.lock().unwrap().push(request.clone());
                    route(&request, &base)
                },
            ))
            .with_state(seen.clone());
        Self {
            addr,
            seen,
            _server: port.serve(app),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// The second origin: one last page of records, never a next one.
fn other_origin(_: &Seen, _: &str) -> Response {
    axum::Json(json!({ "data": [{ "id": 100 }, { "id": 101 }], "next": null })).into_response()
}

/// The first origin: `/next` names the other origin in its body, `/link` in a `Link` header,
/// `/redirect` sends a 302 there. The other origin's URL is in the query, as `to`.
fn home(seen: &Seen, _base: &str) -> Response {
    let to = seen
        .query
        .split('&')
        .find_map(|pair| pair.strip_prefix("to="))
        .map(|to| to.replace("%3A", ":").replace("%2F", "/"))
        .unwrap_or_default();
    let records = json!([{ "id": 1 }, { "id": 2 }, { "id": 3 }]);
    match seen.path.as_str() {
        "/next" => axum::Json(json!({ "data": records, "next": to })).into_response(),
        "/link" => (
            [(header::LINK, format!("<{to}>; rel=\"next\""))],
            axum::Json(json!({ "data": records })),
        )
            .into_response(),
        "/redirect" => (StatusCode::FOUND, [(header::LOCATION, to)]).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Every way a job can carry a credential, each as the `[source.auth]` table's body.
const AUTH_KINDS: [&str; 4] = [
    "kind = \"bearer\"\ntoken = \"${env.API_TOKEN}\"",
    "kind = \"basic\"\nusername = \"me\"\npassword = \"${env.API_TOKEN}\"",
    "kind = \"header\"\nname = \"X-API-Key\"\nvalue = \"${env.API_TOKEN}\"",
    "kind = \"query\"\nparam = \"api_key\"\nvalue = \"${env.API_TOKEN}\"",
];

fn job(url: &str, kind: &str, auth: &str, follow: bool) -> String {
    let pagination = match kind {
        "next" => "kind = \"next_url\"\nnext = \"/next\"",
        "link" => "kind = \"link_header\"",
        _ => "kind = \"none\"",
    };
    format!(
        "[source]\nurl = \"{url}\"\nrecords = \"/data\"\n\
         headers = {{ X-Session-Token = \"${{env.SESSION}}\", X-Tenant = \"acme\" }}\n\
         [source.auth]\n{auth}\n\
         [source.pagination]\n{pagination}\nfollow_other_origins = {follow}\n\
         [fetch]\nretries = 0\n\
         [[reduce]]\nname = \"ids\"\nuse = \"collect\"\nfield = \"/id\"\n"
    )
}

/// Whether a request carried any credential or job header.
fn credentialed(seen: &Seen) -> Option<String> {
    let basic = "bWU6dG9r"; // base64 of `me:tok`, the start of the Basic pair
    for (name, value) in &seen.headers {
        if matches!(
            name.as_str(),
            "authorization" | "x-api-key" | "x-session-token" | "x-tenant"
        ) || value.contains(TOKEN)
            || value.contains(SESSION)
            || value.contains(basic)
        {
            return Some(format!("header {name}: {value}"));
        }
    }
    (seen.query.contains("api_key") || seen.query.contains(TOKEN))
        .then(|| format!("query {}", seen.query))
}

#[test]
fn a_next_page_on_another_origin_is_refused_by_default_and_never_sees_a_credential() {
    let other = Recorder::start(other_origin);
    let home = Recorder::start(home);
    let work = Workspace::new();
    let to = other.url("/tail");
    for kind in ["next", "link"] {
        for auth in AUTH_KINDS {
            let url = format!("{}?to={to}", home.url(&format!("/{kind}")));
            let path = work.job("cross.toml", &job(&url, kind, auth, false));
            let run = pagefold_with_env(
                &["run", path.to_str().unwrap(), "-q"],
                &[("API_TOKEN", TOKEN), ("SESSION", SESSION)],
            );
            assert_eq!(run.code(), 1, "{kind} {auth}: {}", run.stderr());
            let stderr = run.stderr();
            let (home_origin, other_origin) = (
                format!("http://{}", home.addr),
                format!("http://{}", other.addr),
            );
            assert!(
                stderr.contains(&format!(
                    "is on the origin `{other_origin}`, not on the job's `{home_origin}`"
                )),
                "{stderr}"
            );
            assert!(stderr.contains("follow_other_origins = true"), "{stderr}");
        }
    }
    assert!(
        other.seen().is_empty(),
        "the other origin was asked: {:?}",
        other.seen()
    );
    // The job's origin saw every credential, every time.
    assert!(home.seen().iter().all(|seen| credentialed(seen).is_some()));
}

#[test]
fn follow_other_origins_follows_without_credentials_or_headers() {
    let other = Recorder::start(other_origin);
    let home = Recorder::start(home);
    let work = Workspace::new();
    let to = other.url("/tail");
    let mut runs = 0;
    for kind in ["next", "link", "redirect"] {
        for auth in AUTH_KINDS {
            let url = format!("{}?to={to}", home.url(&format!("/{kind}")));
            let path = work.job("follow.toml", &job(&url, kind, auth, true));
            let run = pagefold_with_env(
                &["run", path.to_str().unwrap(), "-vv"],
                &[("API_TOKEN", TOKEN), ("SESSION", SESSION)],
            );
            runs += 1;
            let result = run.result();
            let ids = if kind == "redirect" {
                json!([100, 101])
            } else {
                json!([1, 2, 3, 100, 101])
            };
            assert_eq!(result["reducers"]["ids"], ids, "{kind} {auth}");
            if kind != "redirect" {
                let warning = format!(
                    "followed pages on `http://{}` without the job's credentials or headers",
                    other.addr
                );
                assert!(run.stderr().contains(&warning), "{}", run.stderr());
            }
            for secret in [TOKEN, SESSION] {
                assert!(!run.stderr().contains(secret), "{}", run.stderr());
            }
        }
    }
    let seen = other.seen();
    assert_eq!(seen.len(), runs, "one request a run on the other origin");
    for request in &seen {
        assert_eq!(credentialed(request), None, "{request:?}");
    }
}

/// The first origin's parents: each names a host, which the child URL is built on.
fn parents_naming_another_host(seen: &Seen, _base: &str) -> Response {
    let host = seen
        .query
        .split('&')
        .find_map(|pair| pair.strip_prefix("host="))
        .unwrap_or_default()
        .replace("%3A", ":");
    axum::Json(json!({ "data": [{ "host": host }] })).into_response()
}

#[test]
fn a_child_url_built_on_a_host_from_the_parents_gets_no_credentials() {
    let other = Recorder::start(other_origin);
    let home = Recorder::start(parents_naming_another_host);
    let work = Workspace::new();
    for follow in [false, true] {
        let text = format!(
            "[source]\nurl = \"{}?host={}\"\nrecords = \"/data\"\n\
             headers = {{ X-Tenant = \"acme\" }}\n\
             [source.auth]\nkind = \"bearer\"\ntoken = \"${{env.API_TOKEN}}\"\n\
             [child]\nurl = \"http://{{host}}/tail\"\nrecords = \"/data\"\nvars = {{ host = \"/host\" }}\n\
             [child.auth]\nkind = \"bearer\"\ntoken = \"${{env.API_TOKEN}}\"\n\
             [child.pagination]\nkind = \"none\"\nfollow_other_origins = {follow}\n\
             [fetch]\nretries = 0\n[[reduce]]\nname = \"ids\"\nuse = \"collect\"\nfield = \"/id\"\n",
            home.url("/parents"),
            other.addr
        );
        let path = work.job("children.toml", &text);
        let run = pagefold_with_env(
            &["run", path.to_str().unwrap(), "-q"],
            &[("API_TOKEN", TOKEN), ("SESSION", SESSION)],
        );
        if follow {
            assert_eq!(run.result()["reducers"]["ids"], json!([100, 101]));
        } else {
            assert_eq!(run.code(), 1, "{}", run.stderr());
            assert!(
                run.stderr().contains(&format!(
                    "is on the origin `http://{}`, not on the job's `http://{{host}}`",
                    other.addr
                )),
                "{}",
                run.stderr()
            );
            assert!(other.seen().is_empty(), "{:?}", other.seen());
        }
    }
    let seen = other.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(credentialed(&seen[0]), None, "{:?}", seen[0]);
}
