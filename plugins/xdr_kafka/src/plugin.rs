//! The xdrive plugin: read serves offset ranges as pages, write produces rows.

use xdrive_plugin::{PageSink, PageSource, Plugin, PluginError, ReadRequest, WriteRequest};

use crate::cli::Mount;

/// The plugin: the mount's Kafka arguments, or why they are unusable (then every request
/// gets that error, so the user sees it where they query).
pub struct KafkaPlugin {
    mount: Result<Mount, String>,
    /// What the last read left to tear down: dropped with the plugin, after the
    /// conversation has ended (see [`crate::read::Leftovers`]).
    leftovers: Option<crate::read::Leftovers>,
}

impl KafkaPlugin {
    /// A plugin with this mount, or the argument error to report.
    pub fn new(mount: Result<Mount, String>) -> KafkaPlugin {
        KafkaPlugin {
            mount,
            leftovers: None,
        }
    }

    fn mount(&self) -> Result<&Mount, PluginError> {
        self.mount.as_ref().map_err(|e| {
            PluginError::new(format!(
                "xdr_kafka: bad mount arguments in xdrive.toml: {e}"
            ))
        })
    }
}

impl Plugin for KafkaPlugin {
    fn name(&self) -> &str {
        "xdr_kafka"
    }

    fn read(&mut self, req: &ReadRequest, out: &mut PageSink<'_>) -> Result<(), PluginError> {
        let mount = self.mount()?;
        let leftovers = crate::read::read(&mount.consumer(), mount.transforms(), req, out)?;
        self.leftovers = Some(leftovers);
        Ok(())
    }

    fn write(&mut self, req: &WriteRequest, pages: &mut PageSource<'_>) -> Result<(), PluginError> {
        let settings = self.mount()?.producer();
        crate::write::write(&settings, req, pages)
    }
}
