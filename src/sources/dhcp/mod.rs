//! The DHCP lease source: leases in use per pool, and the clients holding them.
//!
//! - [`lease`]: the lease type every parser produces.
//! - [`dnsmasq`], `isc`, `kea`: the lease file formats (and Kea's control socket).
//! - `file_set`: a server's lease files read as the server reads them (Kea's file set after
//!   cleanup), only regular files, re-read when changed, mostly-garbage files reported.
//! - [`table`]: what the source keeps of the leases between changes of the files.
//! - [`source`]: the sources reading them.

pub(crate) mod config;
pub mod dnsmasq;
pub(crate) mod file_set;
pub(crate) mod isc;
pub(crate) mod kea;
pub mod lease;
pub mod source;
pub mod table;

pub use config::DhcpKind;
pub use source::{DhcpSource, KeaStatisticsSource};

use std::sync::Arc;

use super::Starter;

/// Starts a lease source for each `[[source.dhcp]]`, and a statistics source for each with
/// a `control_socket`.
///
/// # Errors
/// None today: the files are read at each sample.
pub fn start(ctx: &mut Starter<'_>) -> anyhow::Result<()> {
    let config = ctx.config;
    for d in &config.sources.dhcp {
        if let Some(socket) = &d.control_socket {
            ctx.spawn(
                KeaStatisticsSource::new(d.name.clone(), socket.clone()),
                d.interval,
            );
        }
        ctx.found("lease_files", [d.leases.display().to_string()]);
        let source = DhcpSource::new(
            d.clone(),
            Arc::clone(ctx.inventory),
            ctx.key.clone(),
            config.agent.max_clients,
        );
        ctx.spawn(source, d.interval);
    }
    Ok(())
}
