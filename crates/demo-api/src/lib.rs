//! A fake paginated API: deterministic orders behind page-number and offset pagination, with
//! the habits of real APIs that pagefold must cope with (a page-size cap, latency, totals or
//! none, a last page repeated past the end, failures).
//!
//! `pagefold demo` and `pagefold demo-api` serve it; tests and benchmarks start it in-process
//! on a loopback port with [`DemoServer::start`], and compute the values they expect from
//! [`Dataset`], the same records the server sends.
//!
//! ```
//! use pagefold_demo_api::{DemoConfig, DemoServer};
//!
//! let server = DemoServer::start(DemoConfig { records: 120, ..DemoConfig::default() }).unwrap();
//! let url = server.url("/orders?page=2&per_page=50");
//! assert!(url.starts_with("http://127.0.0.1:"));
//! ```
#![deny(missing_docs)]

mod auth;
mod bodies;
mod config;
mod dataset;
mod faults;
mod render;
mod server;
mod shapes;
mod shared;
mod stats;
mod styles;
mod view;

pub use auth::DemoAuth;
pub use config::{DemoConfig, WindowLimit};
pub use dataset::{DAYS, Dataset, Order, STATUSES};
pub use faults::Faults;
pub use server::{DemoServer, router, serve};
pub use stats::Stats;
