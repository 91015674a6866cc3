//! `dgkafka check [--json] dgkafka.toml`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use dgkafka::{check, config};

/// What `[Offset from Kafka]` says until the offset plugin exists.
pub const KAFKA_HALF_NOTE: &str =
    "not available in this build: reading Kafka's offsets needs the xdr_kafkaoffset plugin";

#[derive(Debug, Args)]
#[command(after_help = "\
Prints the last offset recorded in kafka.output.offset_table per partition for
kafka.input.consumer_group and kafka.input.topic (the seed's [Last recorded offset]).
For the whole history, query kafka.output.offset_table itself. [Offset from Kafka]
needs the xdr_kafkaoffset plugin and is not in this build yet.

With --json, one object: {\"database\", \"topic\", \"group\", \"last_recorded\": [{\"group\",
\"topic\", \"partition\", \"committed\", \"latest\", \"start\", \"end\"}], \"offset_from_kafka\":
null}; times are UTC.

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
    if args.json {
        let value = serde_json::json!({
            "database": config.dgkafka.database,
            "topic": input.topic,
            "group": input.consumer_group,
            "last_recorded": rows,
            "offset_from_kafka": null,
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
        println!("\n[Offset from Kafka]\n{KAFKA_HALF_NOTE}");
    }
    Ok(())
}
