//! Integration tests, one binary, modules by topic. Tests needing root or Debian packages say
//! so in their module and fail with a clear message when what they need is missing.

mod abuse;
mod access;
mod browser;
mod cli;
mod common;
mod dashboards;
mod deploy;
mod dhcp_lab;
mod doctor;
mod golden;
mod history;
mod hostapd_lab;
mod hostile;
mod lab;
mod multivenue;
mod page;
mod past;
mod prometheus;
mod readme;
mod release;
mod replay;
mod report;
mod stack;
mod stall;
mod venue;
