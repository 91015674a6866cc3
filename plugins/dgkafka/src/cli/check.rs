//! `dgkafka check [--json] dgkafka.toml`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use dgkafka::{check, config, kafka_offsets};

#[derive(Debug, Args)]
#[command(after_help = "\
Prints the last offset recorded in kafka.output.offset_table per partition for
kafka.input.consumer_group and kafka.input.topic (the seed's [Last recorded offset]).
For the whole history, query kafka.output.offset_table itself. [Offset from Kafka] is the
group's committed offset (-1001: none) and the latest offset per partition, read through
the xdrive mount dgkafka.xdrive_offset_endpoint (xdr_kafkaoffset); when that fails, the
database half is still printed and the reason follows the heading (exit code 0: the
database is the source of truth).

With --json, one object: {\"database\", \"topic\", \"group\", \"last_recorded\": [{\"group\",
\"topic\", \"partition\", \"committed\", \"latest\", \"start\", \"end\"}], \"offset_from_kafka\":
[{\"group\", \"topic\", \"partition\", \"committed\", \"latest\", \"timestamp\"}] or null,
\"offset_from_kafka_error\": null or the reason}; times are UTC.

Example:
  dgkafka check dgkafka.toml")]
pub struct CheckArgs {
    /// Print one JSON object instead of the seed's tables.
    #[arg(long)]
    pub json: bool,
    /// The dgkafka.toml whose offsets to show.
    pub config: PathBuf,
}

pub async fn run(args: CheckArgs) -> Result<()> {
    let config = config::load(&args.config)?;
    let rows = check::last_recorded(&config)
        .await
        .with_context(|| format!("dgkafka check {}", args.config.display()))?;
    let input = &config.kafka.input;
    let xdrive = xdrive::Client::new(
        config.dgkafka.xdrive_host.clone(),
        config.dgkafka.xdrive_port,
    );
    let kafka = kafka_offsets::read(
        &xdrive,
        &config.dgkafka.xdrive_offset_endpoint,
        &input.consumer_group,
        &input.topic,
    )
    .await;
    let kafka_error = kafka
        .as_ref()
        .err()
        .map(|e| format!("{e}{}", source_chain(e)));
    if args.json {
        let value = serde_json::json!({
            "database": config.dgkafka.database,
            "topic": input.topic,
            "group": input.consumer_group,
            "last_recorded": rows,
            "offset_from_kafka": kafka.as_ref().ok(),
            "offset_from_kafka_error": kafka_error,
        });
        println!("{value}");
    } else {
        println!(
            "Database = {}, Topic = {}, Group = {}\n",
            config.dgkafka.database, input.topic, input.consumer_group
        );
        println!("[Last recorded offset]");
        print!("{}", check::format_table(&rows));
        if rows.is_empty() {
            println!("(no batch recorded yet)");
        }
        println!("\n[Offset from Kafka]");
        match &kafka {
            Ok(rows) => print!("{}", kafka_offsets::format_table(rows)),
            Err(_) => println!(
                "cannot read: {}",
                kafka_error.as_deref().unwrap_or_default()
            ),
        }
    }
    if let Some(reason) = &kafka_error {
        // The database half, the source of truth, was shown; the Kafka half is a report.
        tracing::warn!(reason = %reason, "Cannot read the offsets from Kafka.");
    }
    Ok(())
}

/// `: source: source ...` of an error's sources.
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = String::new();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
