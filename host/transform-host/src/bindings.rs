//! The bindings `wasmtime::component::bindgen!` generates for `wit/transform.wit`.
//!
//! The `types` interface is mapped onto our own types (which derive the component-model
//! traits), so a batch is lowered from the caller's `&[Row]` without a copy; only the
//! WIT `outcome` has a type of its own here, converted by `convert`.

use wasmtime::component::{ComponentType, Lift, Lower};

/// What `dgkafka:transform/types` holds, for the generated code.
pub mod types {
    pub use crate::{Column, Row, Value};

    use super::{ComponentType, Lift, Lower};

    // What bindgen generates for an interface of types only: a host trait without
    // functions, and an (empty) linker instance for the import.
    pub trait HostWithStore<T>: wasmtime::component::HasData {}
    impl<H: ?Sized + wasmtime::component::HasData, T> HostWithStore<T> for H {}
    pub trait Host {}
    impl<T: Host + ?Sized> Host for &mut T {}

    pub fn add_to_linker<T: 'static, D>(
        linker: &mut wasmtime::component::Linker<T>,
        _host_getter: fn(&mut T) -> D::Data<'_>,
    ) -> wasmtime::Result<()>
    where
        D: HostWithStore<T>,
        for<'a> D::Data<'a>: Host,
    {
        linker.instance("dgkafka:transform/types@0.1.0")?;
        Ok(())
    }

    /// The WIT `outcome`, as the guest returns it (before the host checks it).
    #[derive(Debug, Clone, PartialEq, ComponentType, Lift, Lower)]
    #[component(variant)]
    pub enum Outcome {
        #[component(name = "keep")]
        Keep(Vec<Value>),
        #[component(name = "drop")]
        Drop,
        #[component(name = "split")]
        Split(Vec<Vec<Value>>),
        #[component(name = "error")]
        Error(String),
    }
}

wasmtime::component::bindgen!({
    // Relative to this crate's Cargo.toml: the one `wit/` directory host and SDK share.
    path: "../../wit/transform.wit",
    world: "transform",
    with: {
        "dgkafka:transform/types": types,
    },
});

pub use dgkafka::transform::host::{Host as LogHost, Level};
