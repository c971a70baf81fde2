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
