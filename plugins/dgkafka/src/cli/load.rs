//! `dgkafka load [-quit-at-eof] [{-force-reset-earliest | -force-reset-latest}] [-v] dgkafka.toml`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use dgkafka::config;
use dgkafka::load::{self, LoadOptions, Reset};
use tokio::sync::watch;

#[derive(Debug, Args)]
#[command(after_help = "\
Reads kafka.input.topic as kafka.input.consumer_group through xdrive (the mounts
dgkafka.xdrive_kafka_endpoint and dgkafka.xdrive_offset_endpoint) and loads it into
kafka.output.output_table, one transaction per batch of at most kafka.commit.max_row
messages per reader, recording the next offset per partition in kafka.output.offset_table
in the same transaction; the offsets are then also committed to the consumer group.
Each partition resumes from its last recorded offset, else the group's committed
offset in Kafka, else the earliest.

The seed's single-dash flags work as written (-quit-at-eof), and so do --quit-at-eof,
--force-reset-earliest and --force-reset-latest.

Without -quit-at-eof the load runs until Ctrl-C or SIGTERM (the batch in flight is
finished first; exit 0); lost database or xdrive connections are retried with a growing
wait. With -quit-at-eof, any failure ends the load with exit 1 (nothing committed is
lost: run it again).

Examples:
  dgkafka load -quit-at-eof dgkafka.toml
  dgkafka load -force-reset-earliest -v dgkafka.toml")]
pub struct LoadArgs {
    /// Exit once every partition is loaded up to its latest offset.
    #[arg(long)]
    pub quit_at_eof: bool,
    /// Start the first batch at each partition's earliest offset.
    #[arg(long, conflicts_with = "force_reset_latest")]
    pub force_reset_earliest: bool,
    /// Start the first batch at each partition's latest offset (only new messages).
    #[arg(long)]
    pub force_reset_latest: bool,
    /// The dgkafka.toml to load.
    pub config: PathBuf,
}

pub async fn run(args: LoadArgs) -> Result<()> {
    let config = config::load(&args.config)?;
    let options = LoadOptions {
        quit_at_eof: args.quit_at_eof,
        reset: if args.force_reset_earliest {
            Some(Reset::Earliest)
        } else if args.force_reset_latest {
            Some(Reset::Latest)
        } else {
            None
        },
    };
    let (stop, shutdown) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::warn!("Stopping after the batch in flight.");
        let _ = stop.send(true);
    });
    let summary = load::run(config, options, shutdown)
        .await
        .with_context(|| format!("dgkafka load {}", args.config.display()))?;
    tracing::info!(
        rows = summary.rows,
        errors = summary.errors,
        batches = summary.batches,
        "Load finished."
    );
    println!("{summary}");
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
