//! venuemon: a Wi-Fi load monitoring agent for event venues.
//!
//! - [`config`]: the TOML configuration, validated whole, and the zero-config defaults.
pub mod config;
