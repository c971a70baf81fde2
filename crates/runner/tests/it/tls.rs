//! HTTPS: a loopback server (python3's `ssl`) whose certificate a private CA signed
//! (`tls/`, made with openssl for these tests only). The CA named by `SSL_CERT_FILE` is
//! trusted, as curl and OpenSSL trust it; without it the certificate is refused, and the
//! error says so. And HTTP/2: offered by ALPN, and spoken when the server picks it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::support::{Workspace, pagefold_with_env};

/// Serves one page of two records over TLS on a free port until dropped.
struct TlsServer {
    child: Child,
    port: u16,
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SERVER: &str = r#"
import http.server, ssl, sys
class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"data":[{"id":1},{"id":2}]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Page)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[1], sys.argv[2])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// Runs `job` against the loopback server itself: the CA file named, and every proxy
/// variable emptied (pagefold reads an empty one as unset), so that the machine's own proxy
/// cannot stand between.
fn run_direct(job: &std::path::Path, ca: &std::path::Path) -> crate::support::Run {
    let proxies = [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ];
    let mut env: Vec<(&str, &str)> = proxies.iter().map(|name| (*name, "")).collect();
    env.push(("SSL_CERT_FILE", ca.to_str().expect("a UTF-8 path")));
    pagefold_with_env(&["run", job.to_str().unwrap(), "-q"], &env)
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/tls")
        .join(name)
}

fn start() -> Option<TlsServer> {
    let spawned = Command::new("python3")
        .args(["-c", SERVER])
        .arg(fixture("server.pem"))
        .arg(fixture("server.key"))
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            eprintln!("SKIPPED: no python3 to serve HTTPS with: {error}");
            return None;
        }
    };
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("its output"))
        .read_line(&mut line)
        .expect("the port");
    let port = line.trim().parse().expect("a port number");
    Some(TlsServer { child, port })
}

#[test]
fn an_https_api_is_read_when_its_ca_is_trusted_and_refused_when_not() {
    let Some(server) = start() else { return };
    let work = Workspace::new();
    let job = work.job(
        "secure.toml",
        &format!(
            "[source]\nurl = \"https://127.0.0.1:{}/orders\"\nrecords = \"/data\"\n\
             [fetch]\nretries = 0\n[[reduce]]\nname = \"n\"\nuse = \"count\"\n",
            server.port
        ),
    );
    let run = run_direct(&job, &fixture("ca.pem"));
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.result()["reducers"]["n"], 2);

    // The same server, its CA not trusted: refused before a byte of the page is read.
    let run = run_direct(&job, &work.path().join("no-such-ca.pem"));
    assert_eq!(run.code(), 1);
    let stderr = run.stderr();
    assert!(
        stderr.contains(
            "invalid peer certificate: UnknownIssuer (if a private CA signed the server's \
             certificate, name that CA's PEM file in SSL_CERT_FILE)"
        ),
        "{stderr}"
    );
    let masks = crate::support::Masks::new().rule(r"\d+(\.\d+)?(µs|ms|s)\b", "[time]");
    insta::with_settings!({ filters => masks.filters() }, {
        insta::assert_snapshot!("untrusted_certificate", run.shown());
    });
}

#[test]
fn http2_is_offered_and_spoken_when_the_server_picks_it() {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::io::Read as _;

    let certificates = CertificateDer::pem_file_iter(fixture("server.pem"))
        .expect("the certificate")
        .collect::<Result<Vec<_>, _>>()
        .expect("the certificate");
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).expect("its key");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .expect("a server configuration");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("its address").port();
    // One connection: the handshake, then the first bytes the client sends, then it is closed
    // (this server speaks no HTTP; the run fails, which is not what is tested).
    let server = std::thread::spawn(move || {
        let (socket, _) = listener.accept().ok()?;
        let connection = rustls::ServerConnection::new(std::sync::Arc::new(config)).ok()?;
        let mut tls = rustls::StreamOwned::new(connection, socket);
        let mut preface = [0u8; 24];
        tls.read_exact(&mut preface).ok()?;
        let alpn = tls.conn.alpn_protocol().map(<[u8]>::to_vec);
        Some((alpn, preface))
    });
    let work = Workspace::new();
    let job = work.job(
        "h2.toml",
        &format!(
            "[source]\nurl = \"https://127.0.0.1:{port}/orders\"\nrecords = \"/data\"\n\
             [fetch]\nretries = 0\n[[reduce]]\nname = \"n\"\nuse = \"count\"\n"
        ),
    );
    let run = run_direct(&job, &fixture("ca.pem"));
    assert_eq!(run.code(), 1, "{}", run.stderr());
    if !server.is_finished() {
        // The client never came: a connection of our own ends the wait for it.
        let _ = std::net::TcpStream::connect(("127.0.0.1", port));
    }
    let seen = server.join().expect("the server's thread");
    let (alpn, preface) = seen.unwrap_or_else(|| panic!("no TLS client came: {}", run.stderr()));
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(&preface, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
}
