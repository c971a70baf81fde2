//! `pagefold demo-api`: the demo API in the foreground until Ctrl-C, to try jobs against.

use std::sync::Arc;

use pagefold::exit;
use pagefold::terminal::failure::Failure;
use pagefold_demo_api::{DemoConfig, Stats};

use super::demo_cli::DemoApiArgs;

/// `pagefold demo-api`.
pub(crate) fn run(args: DemoApiArgs) -> Result<u8, Failure> {
    serve(args.config(), args.host, args.port).map_err(|error| {
        Failure::from_error(exit::RUN_FAILED, &error).with_hint(Some(
            "choose another port with --port, or --port 0 for any free one".into(),
        ))
    })?;
    Ok(exit::SUCCESS)
}

/// Serves the demo API in the foreground until Ctrl-C.
fn serve(config: DemoConfig, host: std::net::IpAddr, port: u16) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind((host, port)).await?;
        let addr = listener.local_addr()?;
        pagefold::terminal::say(&format!(
            "demo API on http://{addr}/orders ({} orders, pages capped at {}, latency {:?}{}); also /orders/bare, /cursor/orders, /stripe/orders, /next/orders, /links/orders, /drf/orders, /headers/orders, POST /graphql, POST /search, /customers (the README's \"The demo API\" lists their parameters); Ctrl-C stops it",
            config.records,
            config.max_page_size,
            config.latency,
            if config.totals { "" } else { ", no totals" },
        ));
        // Print the address on stdout too, so a script that started us on port 0 can read it.
        println!("http://{addr}");
        pagefold_demo_api::serve(listener, config, Arc::new(Stats::default()), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })
}
