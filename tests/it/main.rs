//! Integration tests, one binary, modules by topic. Tests needing root or Debian packages say
//! so in their module and fail with a clear message when what they need is missing.

mod abuse;
mod access;
mod browser;
mod cli;
mod common;
mod dhcp_lab;
mod golden;
mod history;
mod hostapd_lab;
mod hostile;
mod lab;
mod page;
mod readme;
mod replay;
mod stall;
mod venue;
