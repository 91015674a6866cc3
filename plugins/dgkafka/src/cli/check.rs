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
the xdrive mount dgkafka.xdrive_offset_endpoint (xdr_kafkaoffset). [Lag] (ours) is, per
partition, Kafka's latest offset minus the last recorded next offset: the messages not
loaded yet; `-` where no offset is recorded (load starts such a partition at the group's
committed offset in Kafka, else at the earliest).

Exits 1 when the database or Kafka (xdrive, its brokers) cannot be reached; when only
Kafka cannot, the database half is printed first and the reason follows the
[Offset from Kafka] heading.

With --json, one object: {\"database\", \"topic\", \"group\", \"last_recorded\": [{\"group\",
\"topic\", \"partition\", \"committed\", \"latest\", \"start\", \"end\"}], \"offset_from_kafka\":
[{\"group\", \"topic\", \"partition\", \"committed\", \"latest\", \"timestamp\"}] or null,
\"offset_from_kafka_error\": null or the reason, \"lag\": [{\"partition\", \"recorded\",
\"latest\", \"lag\"}] (null for unknown) or null}; times are UTC.

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
    let context = || format!("dgkafka check {}", args.config.display());
    let rows = check::last_recorded(&config).await.with_context(context)?;
    let input = &config.kafka.input;
    let xdrive = xdrive::Client::new(
        config.dgkafka.xdrive_host.clone(),
        config.dgkafka.xdrive_port,
    );
    let kafka = kafka_offsets::read_patiently(
        &xdrive,
        &config.dgkafka.xdrive_offset_endpoint,
        &input.consumer_group,
        &input.topic,
        dgkafka::setup::KAFKA_PATIENCE,
    )
    .await;
    let kafka_error = kafka.as_ref().err().map(|e| dgkafka::error_chain(e));
    let lag = kafka.as_ref().ok().map(|k| check::lag(&rows, k));
    if args.json {
        let value = serde_json::json!({
            "database": config.dgkafka.database,
            "topic": input.topic,
            "group": input.consumer_group,
            "last_recorded": rows,
            "offset_from_kafka": kafka.as_ref().ok(),
            "offset_from_kafka_error": kafka_error,
            "lag": lag,
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
        match (&kafka, &lag) {
            (Ok(offsets), Some(lag)) => {
                print!("{}", kafka_offsets::format_table(offsets));
                println!("\n[Lag]");
                print!("{}", check::format_lag_table(lag));
            }
            _ => println!(
                "cannot read: {}",
                kafka_error.as_deref().unwrap_or_default()
            ),
        }
    }
    // The database half was shown; an unreachable Kafka still fails the command.
    kafka.with_context(context)?;
    Ok(())
}
