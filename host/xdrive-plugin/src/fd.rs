//! Adopting the link descriptor xdrive leaves open for us.

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// The environment variable that holds the link's descriptor number.
pub const XDRIVE_FD_VAR: &str = "XDRIVE_FD";

/// Why the link descriptor cannot be adopted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FdError {
    /// `XDRIVE_FD` is not set: the program was not started by xdrive.
    #[error(
        "{XDRIVE_FD_VAR} is not set: this is an xdrive plugin, which xdrive starts for a request \
         (see xdrive.toml's [[xdrive.mount]])"
    )]
    NotSet,
    /// `XDRIVE_FD` is not a descriptor number we may take.
    #[error("{XDRIVE_FD_VAR}={value:?} is not a descriptor number of 3 or more")]
    Invalid {
        /// The variable's value.
        value: String,
    },
    /// The descriptor is not open, or not a socket.
    #[error("{XDRIVE_FD_VAR}={fd} is not an open socket ({what})")]
    NotASocket {
        /// The descriptor.
        fd: RawFd,
        /// What `/proc/self/fd` says it is, or why it could not tell.
        what: String,
    },
    /// The descriptor was already adopted in this process.
    #[error("{XDRIVE_FD_VAR}={fd} was already adopted by this process")]
    AlreadyAdopted {
        /// The descriptor.
        fd: RawFd,
    },
    /// Duplicating it (to make it close-on-exec) failed.
    #[error("cannot duplicate {XDRIVE_FD_VAR}={fd}")]
    Dup {
        /// The descriptor.
        fd: RawFd,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

static ADOPTED: AtomicBool = AtomicBool::new(false);

/// Takes ownership of the socket whose number is in `XDRIVE_FD`, once per process.
///
/// The returned file is a close-on-exec duplicate (the inherited number is closed), so
/// processes the plugin starts do not hold the link open.
pub fn adopt_xdrive_fd() -> Result<File, FdError> {
    let value = std::env::var(XDRIVE_FD_VAR).map_err(|_| FdError::NotSet)?;
    let fd: RawFd = value
        .trim()
        .parse()
        .ok()
        .filter(|&fd| fd >= 3)
        .ok_or_else(|| FdError::Invalid {
            value: value.clone(),
        })?;
    // Safe check that the number is open and a socket, before anything takes ownership.
    let what = std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .map(|p| p.display().to_string())
        .map_err(|e| FdError::NotASocket {
            fd,
            what: e.to_string(),
        })?;
    if !what.starts_with("socket:") {
        return Err(FdError::NotASocket { fd, what });
    }
    if ADOPTED.swap(true, Ordering::SeqCst) {
        return Err(FdError::AlreadyAdopted { fd });
    }
    // SAFETY: the one unsafe operation of the plugin side, and why it is sound. xdrive (our
    // parent) left descriptor `fd` open across exec for this process and named it in
    // XDRIVE_FD; no Rust object in this process owns it (std opens only 0, 1 and 2 itself,
    // and `fd >= 3`); we checked above that it is open and a socket; and ADOPTED makes sure
    // only one `OwnedFd` is ever made from it. There is no safe std API to take ownership of
    // an inherited descriptor, hence `#[allow(unsafe_code)]` on this block only.
    #[allow(unsafe_code)]
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let inherited = File::from(owned);
    // `try_clone` duplicates with FD_CLOEXEC; dropping `inherited` closes the number that
    // children would otherwise inherit.
    let link = inherited
        .try_clone()
        .map_err(|source| FdError::Dup { fd, source })?;
    drop(inherited);
    Ok(link)
}
