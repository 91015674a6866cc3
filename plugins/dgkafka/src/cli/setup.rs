//! `dgkafka setup dgkafka.toml`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use dgkafka::{config, setup};

#[derive(Debug, Args)]
#[command(after_help = "\
Checks that the database is reachable, that kafka.output.output_table exists, that every
kafka.input.columns type is known and every kafka.output.mappings target is a column of
the output table; that xdrive answers at dgkafka.xdrive_host:xdrive_port, that its mount
dgkafka.xdrive_offset_endpoint reaches the brokers, and that kafka.input.topic exists
with kafka.input.partition_num partitions (what load checks before its first batch);
then creates kafka.output.offset_table (and kafka.output.error_table) if missing. A
failed check names the key to fix and creates nothing. Running it again changes nothing.

Example:
  dgkafka setup dgkafka.toml")]
pub struct SetupArgs {
    /// The dgkafka.toml to set up.
    pub config: PathBuf,
}

pub async fn run(args: SetupArgs) -> Result<()> {
    let config = config::load(&args.config)?;
    tracing::info!(config = %args.config.display(), "Setting up.");
    let report = setup::run(&config)
        .await
        .with_context(|| format!("dgkafka setup {}", args.config.display()))?;
    println!(
        "Database = {}, Topic = {}, Group = {}\n",
        config.dgkafka.database, config.kafka.input.topic, config.kafka.input.consumer_group
    );
    print!("{report}");
    println!("\nSetup complete.");
    Ok(())
}
