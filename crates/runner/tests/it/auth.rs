//! Credentials: every kind reaches the server, tokens come from the environment and never
//! show, and they are not sent to another origin after a redirect.

use pagefold_demo_api::{DemoAuth, DemoConfig};
use serde_json::json;

use crate::support::{
    ALL_BUILTINS, Workspace, assert_builtins, demo_server, orders, pagefold_with_env,
};

const TOKEN: &str = "tok-3f9a7c1e55d2";

fn job(url: &str, auth: &str) -> String {
    format!(
        "[source]\nurl = \"{url}\"\nrecords = \"/data\"\n[source.auth]\n{auth}\n[source.pagination]\nkind = \"page\"\n\
         size_param = \"per_page\"\nsize = 50\ntotal_records = \"/meta/total\"\n[fetch]\nretries = 0\n{ALL_BUILTINS}"
    )
}

#[test]
fn every_kind_of_auth_is_checked_by_the_server() {
    let cases = [
        (
            DemoAuth::Bearer(TOKEN.into()),
            "kind = \"bearer\"\ntoken = \"${env.API_TOKEN}\"",
        ),
        (
            DemoAuth::Basic("me".into(), TOKEN.into()),
            "kind = \"basic\"\nusername = \"me\"\npassword = \"${env.API_TOKEN}\"",
        ),
        (
            DemoAuth::Header("x-api-key".into(), TOKEN.into()),
            "kind = \"header\"\nname = \"X-API-Key\"\nvalue = \"${env.API_TOKEN}\"",
        ),
        (
            DemoAuth::Query("api_key".into(), TOKEN.into()),
            "kind = \"query\"\nparam = \"api_key\"\nvalue = \"${env.API_TOKEN}\"",
        ),
    ];
    for (required, auth) in cases {
        let config = DemoConfig {
            records: 230,
            auth: Some(required.clone()),
            ..DemoConfig::default()
        };
        let server = demo_server(config.clone());
        let work = Workspace::new();
        let path = work.job("auth.toml", &job(&server.url("/orders"), auth));
        let run = pagefold_with_env(
            &["run", path.to_str().unwrap(), "-q"],
            &[("API_TOKEN", TOKEN)],
        );
        assert_builtins(&run.result(), &orders(&config));

        // The wrong token: refused, and neither token shows anywhere, even at -vv.
        let run = pagefold_with_env(
            &["run", path.to_str().unwrap(), "-vv"],
            &[("API_TOKEN", "wrong-token-value")],
        );
        assert_eq!(run.code(), 1, "{required:?}");
        let (stdout, stderr) = (run.stdout(), run.stderr());
        assert!(stderr.contains("caused by: HTTP 401"), "{stderr}");
        for secret in [TOKEN, "wrong-token-value", "d3JvbmctdG9rZW4tdmFsdWU"] {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "{required:?} leaked:\n{stderr}"
            );
        }
    }
}

#[test]
fn an_unset_environment_variable_is_named() {
    let work = Workspace::new();
    let path = work.job(
        "unset.toml",
        &job(
            "http://127.0.0.1:9/orders",
            "kind = \"bearer\"\ntoken = \"${env.PAGEFOLD_TEST_UNSET}\"",
        ),
    );
    let run = pagefold_with_env(&["run", path.to_str().unwrap()], &[]);
    assert_eq!(run.code(), 2);
    assert!(
        run.stderr()
            .contains(":6:10: the environment variable `PAGEFOLD_TEST_UNSET` is not set"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr()
            .contains("hint: export PAGEFOLD_TEST_UNSET=… before running pagefold"),
        "{}",
        run.stderr()
    );
}

#[test]
fn credentials_do_not_follow_a_redirect_to_another_origin() {
    let config = DemoConfig {
        records: 40,
        ..DemoConfig::default()
    };
    let (first, other) = (demo_server(config.clone()), demo_server(config.clone()));
    let work = Workspace::new();
    let bearer = "kind = \"bearer\"\ntoken = \"${env.API_TOKEN}\"";
    for (to, crosses) in [
        (other.url("/orders?per_page=100"), true),
        (first.url("/orders?per_page=100"), false),
    ] {
        let url = format!(
            "{}?to={}",
            first.url("/redirect"),
            to.replace('?', "%3F")
                .replace('=', "%3D")
                .replace('&', "%26")
        );
        let text = job(&url, bearer).replace("kind = \"page\"\nsize_param = \"per_page\"\nsize = 50\ntotal_records = \"/meta/total\"", "kind = \"none\"");
        let path = work.job("redirected.toml", &text);
        let run = pagefold_with_env(
            &["run", path.to_str().unwrap(), "-q"],
            &[("API_TOKEN", TOKEN)],
        );
        assert_eq!(run.result()["records"], json!(40));
        if crosses {
            assert_eq!(
                other.stats().credentialed(),
                0,
                "the token went to another origin"
            );
        }
    }
    // The redirect itself and the same-origin target carried the token.
    assert_eq!(first.stats().credentialed(), 3);
}

/// Every file under `dir`, as text.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            files.push((path, text));
        }
    }
    files
}

/// The place where any 6-character piece of a secret shows in `text`, if one does.
fn piece_of_a_secret(text: &str, secrets: &[&str]) -> Option<String> {
    for secret in secrets {
        let chars: Vec<char> = secret.chars().collect();
        for piece in chars.windows(6) {
            let piece: String = piece.iter().collect();
            if let Some(at) = text.find(&piece) {
                let from = at.saturating_sub(40);
                return Some(format!(
                    "`{piece}` in …{}…",
                    &text[from..(at + 46).min(text.len())]
                ));
            }
        }
    }
    None
}

/// An API whose error bodies echo the request back: the credential headers and the query,
/// near the start of the body, where an excerpt cut before redaction would keep part of them.
fn echoing_server() -> crate::origins::Recorder {
    use axum::response::IntoResponse;
    crate::origins::Recorder::start(|seen, _| {
        let page = seen
            .query
            .split('&')
            .find_map(|pair| pair.strip_prefix("page="))
            .unwrap_or("1");
        if page == "1" {
            let body = json!({ "data": [{ "id": 1 }, { "id": 2 }], "meta": { "total_pages": 3 } });
            return axum::Json(body).into_response();
        }
        let echoed: Vec<String> = seen
            .headers
            .iter()
            .filter(|(name, _)| {
                matches!(
                    name.as_str(),
                    "authorization" | "x-api-key" | "x-session-token"
                )
            })
            .map(|(_, value)| value.clone())
            .collect();
        // 48 characters, so that the first echoed secret straddles a 60-character excerpt.
        let body = format!(
            "denied: the credentials you sent are not valid: {} for ?{}",
            echoed.join(" "),
            seen.query
        );
        let status = if page == "2" { 401 } else { 403 };
        (axum::http::StatusCode::from_u16(status).unwrap(), body).into_response()
    })
}

#[test]
fn secrets_echoed_by_error_bodies_never_show_even_in_part() {
    const LITERAL: &str = "Lit3ralSess10nValue";
    let basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("me:{TOKEN}"))
    };
    let secrets = [TOKEN, "sess-Kd83jfQ0aXr2", LITERAL, basic.as_str()];
    let server = echoing_server();
    let auth_kinds = [
        "kind = \"bearer\"\ntoken = \"${env.API_TOKEN}\"",
        "kind = \"basic\"\nusername = \"me\"\npassword = \"${env.API_TOKEN}\"",
        "kind = \"header\"\nname = \"X-API-Key\"\nvalue = \"${env.API_TOKEN}\"",
        "kind = \"query\"\nparam = \"api_key\"\nvalue = \"${env.API_TOKEN}\"",
    ];
    for auth in auth_kinds {
        for on_error in ["skip", "fail"] {
            let work = Workspace::new();
            let (state, checkpoints) = (work.path().join("state"), work.path().join("cp"));
            let text = format!(
                "on_error = \"{on_error}\"\n[source]\nurl = \"{}?sessionid={LITERAL}\"\nrecords = \"/data\"\n\
                 secret_params = [\"sessionid\"]\n\
                 headers = {{ X-Session-Token = \"${{env.SESSION}}\" }}\n\
                 [source.auth]\n{auth}\n[source.pagination]\nkind = \"page\"\ntotal_pages = \"/meta/total_pages\"\n\
                 [fetch]\nretries = 0\n[[reduce]]\nuse = \"count\"\n",
                server.url("/items")
            );
            let path = work.job("echo.toml", &text);
            let run = pagefold_with_env(
                &[
                    "run",
                    path.to_str().unwrap(),
                    "-vv",
                    "--state",
                    state.to_str().unwrap(),
                    "--checkpoint",
                    checkpoints.to_str().unwrap(),
                ],
                &[("API_TOKEN", TOKEN), ("SESSION", "sess-Kd83jfQ0aXr2")],
            );
            let expected = if on_error == "skip" { 3 } else { 1 };
            assert_eq!(run.code(), expected, "{auth}: {}", run.stderr());
            assert!(run.stderr().contains("denied: "), "{}", run.stderr());
            let mut outputs = vec![
                (std::path::PathBuf::from("stdout"), run.stdout()),
                (std::path::PathBuf::from("stderr"), run.stderr()),
            ];
            outputs.extend(files_under(&state));
            outputs.extend(files_under(&checkpoints));
            assert!(
                outputs
                    .iter()
                    .any(|(path, _)| path.ends_with("history.jsonl")),
                "the history was written"
            );
            for (place, text) in outputs {
                if let Some(leak) = piece_of_a_secret(&text, &secrets) {
                    panic!(
                        "{auth}, on_error {on_error}: {} shows {leak}",
                        place.display()
                    );
                }
            }
        }
    }
}
