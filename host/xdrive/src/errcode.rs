//! The `errcode`s xdrive itself puts in error replies (ours: the xdrive2 definitions do not
//! publish any). Plugins built on `xdrive-plugin` use -1 (their own errors), -2 (an op
//! they do not serve) and -3 (temporarily unavailable: retry); any other negative code comes
//! from a plugin.
//!
//! An error reply is the protobuf `{errcode = 1, errmsg = 2}`, which is how `OpStatus`,
//! `XColDataReply` and `WriteReply` all begin, so xdrive can send one wherever the client
//! expects a reply.

/// The client's opening was malformed: a bad frame, or not `OpSpec` + request.
pub const BAD_REQUEST: i32 = -100;
/// The op is none of `read`, `write`, `sample`, `size_meta`.
pub const UNKNOWN_OP: i32 = -101;
/// The path's first segment names no mount.
pub const UNKNOWN_MOUNT: i32 = -102;
/// The path names no mount, or climbs out of its mount with `..`.
pub const BAD_PATH: i32 = -103;
/// xdrive is already serving `max_requests` requests. Retriable.
pub const BUSY: i32 = -104;
/// The mount's plugin could not be started.
pub const PLUGIN_START: i32 = -105;
/// The plugin exited (or closed its link) before its conversation ended. Retriable.
pub const PLUGIN_DIED: i32 = -106;
/// xdrive is shutting down. Retriable (on a restarted xdrive).
pub const SHUTTING_DOWN: i32 = -107;
/// A peer broke the protocol in the middle of a conversation (a malformed frame).
pub const PROTOCOL: i32 = -108;
/// The client took longer than `opening_timeout_secs` to send its opening.
pub const OPENING_TIMEOUT: i32 = -109;

/// A plugin's backend is temporarily unavailable (a broker down or restarting); the same
/// request may succeed later. Retriable. (`xdrive_plugin::ERRCODE_RETRIABLE`.)
pub const PLUGIN_RETRIABLE: i32 = -3;

/// Whether an error reply with `code` may succeed if the request is sent again.
pub fn is_retriable(code: i32) -> bool {
    matches!(
        code,
        BUSY | PLUGIN_DIED | SHUTTING_DOWN | OPENING_TIMEOUT | PLUGIN_RETRIABLE
    )
}

/// A short name for `code`, for messages.
pub fn name(code: i32) -> &'static str {
    match code {
        BAD_REQUEST => "bad request",
        UNKNOWN_OP => "unknown op",
        UNKNOWN_MOUNT => "unknown mountpoint",
        BAD_PATH => "bad path",
        BUSY => "busy",
        PLUGIN_START => "plugin did not start",
        PLUGIN_DIED => "plugin died",
        SHUTTING_DOWN => "shutting down",
        PROTOCOL => "protocol violation",
        OPENING_TIMEOUT => "opening timed out",
        -2 => "op not served by the plugin",
        PLUGIN_RETRIABLE => "temporarily unavailable: retry",
        _ => "plugin error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugins_temporary_error_is_retriable_and_its_own_errors_are_not() {
        assert!(is_retriable(PLUGIN_RETRIABLE));
        assert_eq!(name(-3), "temporarily unavailable: retry");
        assert!(!is_retriable(-1));
        assert!(!is_retriable(-2));
        assert!(is_retriable(BUSY));
        assert!(!is_retriable(BAD_REQUEST));
    }
}
