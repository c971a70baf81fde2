//! Proxies from the environment, as curl reads them: a plain `http` API through a forwarding
//! proxy on loopback (with its credentials, which never show), `NO_PROXY` going around it,
//! and an `https` API asked for through a `CONNECT` tunnel. `NO_PROXY` is emptied where the
//! proxy must be used, so that the machine's own setting cannot send the requests around it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use pagefold_demo_api::DemoConfig;

use crate::support::{ALL_BUILTINS, Workspace, assert_builtins, demo_server, orders};
use crate::support::{orders_job, pagefold_with_env};

const PROXY_PASSWORD: &str = "pw-Zr81kQe0Ys";

/// What the proxy was asked: each request line, and its `Proxy-Authorization` header.
type Asked = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A forwarding HTTP proxy on loopback: one request per connection, sent on to the server its
/// absolute URL names with `Connection: close`, the answer copied back whole. A `CONNECT` is
/// refused with 403, after it is recorded.
fn start_proxy() -> (u16, Asked) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    let asked = Asked::default();
    let seen = asked.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let seen = seen.clone();
            std::thread::spawn(move || forward(client, &seen));
        }
    });
    (port, asked)
}

fn forward(client: TcpStream, asked: &Asked) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut head = Vec::new();
    let mut authorization = None;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        if header.trim().is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((&header, ""));
        match name.to_ascii_lowercase().as_str() {
            "proxy-authorization" => authorization = Some(value.trim().to_owned()),
            "connection" => {}
            _ => head.push(header.trim_end().to_owned()),
        }
    }
    let request_line = line.trim_end().to_owned();
    asked
        .lock()
        .unwrap()
        .push((request_line.clone(), authorization));
    let mut client = client;
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let Some(rest) = target.strip_prefix("http://") else {
        return client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut server = TcpStream::connect(host)?;
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    for header in head {
        request.push_str(&header);
        request.push_str("\r\n");
    }
    request.push_str("Connection: close\r\n\r\n");
    server.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    client.write_all(&answer)
}

#[test]
fn an_http_api_is_reached_through_the_proxy_the_environment_names() {
    let config = DemoConfig {
        records: 230,
        ..DemoConfig::default()
    };
    let server = demo_server(config.clone());
    let (port, asked) = start_proxy();
    let work = Workspace::new();
    let pagination = "kind = \"page\"\nsize_param = \"per_page\"\nsize = 50\n\
                      total_records = \"/meta/total\"";
    let job = work.job(
        "proxied.toml",
        &orders_job(&server, pagination, 4, ALL_BUILTINS),
    );
    let proxy = format!("http://me:{PROXY_PASSWORD}@127.0.0.1:{port}");
    let run = pagefold_with_env(
        &["run", job.to_str().unwrap(), "-vv"],
        &[("HTTP_PROXY", &proxy), ("NO_PROXY", ""), ("no_proxy", "")],
    );
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_builtins(&run.result(), &orders(&config));
    assert!(
        !format!("{}{}", run.stdout(), run.stderr()).contains(PROXY_PASSWORD),
        "the proxy's password shows"
    );
    let through = std::mem::take(&mut *asked.lock().unwrap());
    // 5 pages of 50, each asked of the proxy by its whole URL, with the proxy's credentials.
    assert_eq!(through.len(), 5, "{through:?}");
    for (line, authorization) in &through {
        assert!(
            line.starts_with(&format!("GET {}?", server.url("/orders"))),
            "{line}"
        );
        assert_eq!(
            authorization.as_deref(),
            Some("Basic bWU6cHctWnI4MWtRZTBZcw==")
        );
    }

    // Named in NO_PROXY, the API is reached directly.
    let run = pagefold_with_env(
        &["run", job.to_str().unwrap(), "-q"],
        &[("HTTP_PROXY", &proxy), ("NO_PROXY", "127.0.0.1")],
    );
    assert_builtins(&run.result(), &orders(&config));
    assert!(asked.lock().unwrap().is_empty());
}

#[test]
fn an_https_api_is_asked_for_through_a_connect_tunnel() {
    let (port, asked) = start_proxy();
    let work = Workspace::new();
    let job = work.job(
        "tunnelled.toml",
        "[source]\nurl = \"https://api.example.invalid/orders\"\nrecords = \"/data\"\n\
         [fetch]\nretries = 0\n[[reduce]]\nname = \"n\"\nuse = \"count\"\n",
    );
    let proxy = format!("http://me:{PROXY_PASSWORD}@127.0.0.1:{port}");
    let run = pagefold_with_env(
        &["run", job.to_str().unwrap(), "-q"],
        &[("HTTPS_PROXY", &proxy), ("NO_PROXY", ""), ("no_proxy", "")],
    );
    assert_eq!(run.code(), 1);
    let stderr = run.stderr();
    assert!(
        stderr.contains(&format!(
            "the proxy `http://127.0.0.1:{port}/` did not open a tunnel to \
             `api.example.invalid:443`"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains(PROXY_PASSWORD), "{stderr}");
    let through = asked.lock().unwrap().clone();
    assert_eq!(
        through,
        [(
            "CONNECT api.example.invalid:443 HTTP/1.1".to_owned(),
            Some("Basic bWU6cHctWnI4MWtRZTBZcw==".to_owned())
        )]
    );

    // A proxy of a kind pagefold does not speak is refused, and said to be.
    let socks = pagefold_with_env(
        &["run", job.to_str().unwrap(), "-q"],
        &[
            ("HTTPS_PROXY", &format!("socks5://127.0.0.1:{port}")),
            ("NO_PROXY", ""),
            ("no_proxy", ""),
        ],
    );
    assert_eq!(socks.code(), 1);
    // What a user reads of both, pinned.
    let shown = format!(
        "=== a refused tunnel\n{}\n=== a SOCKS proxy\n{}",
        run.shown(),
        socks.shown()
    );
    let masks = crate::support::Masks::new().rule(r"\d+(\.\d+)?(µs|ms|s)\b", "[time]");
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("proxy_refusals", shown);
    });
}
