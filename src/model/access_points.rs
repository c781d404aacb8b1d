//! Access points (the BSSs a venue's radios serve): their band, channel, stations and the
//! connect/disconnect events counted between samples.

use crate::inventory::ZoneIdx;

/// Radio band of a BSS, from its frequency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Band {
    /// 2.4 GHz.
    #[serde(rename = "2.4GHz")]
    Ghz2_4,
    /// 5 GHz.
    #[serde(rename = "5GHz")]
    Ghz5,
    /// 6 GHz.
    #[serde(rename = "6GHz")]
    Ghz6,
    /// Unknown (no frequency, e.g. hostapd's wired driver).
    #[serde(rename = "unknown")]
    Unknown,
}

impl Band {
    /// The band a centre frequency (MHz) lies in.
    pub fn from_mhz(mhz: u32) -> Band {
        match mhz {
            2400..=2500 => Band::Ghz2_4,
            4900..=5900 => Band::Ghz5,
            5925..=7125 => Band::Ghz6,
            _ => Band::Unknown,
        }
    }

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Band::Ghz2_4 => "2.4GHz",
            Band::Ghz5 => "5GHz",
            Band::Ghz6 => "6GHz",
            Band::Unknown => "unknown",
        }
    }
}

/// One access point (a BSS served by hostapd) at one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct ApSample {
    /// The BSS interface name (from the control socket's file name): the `ap` label.
    pub ap: String,
    /// The zone it serves, if any.
    pub zone: Option<ZoneIdx>,
    /// Band, from the frequency.
    pub band: Band,
    /// Operating frequency in MHz, when reported.
    pub frequency_mhz: Option<u32>,
    /// Channel number, when reported.
    pub channel: Option<u32>,
    /// Stations associated now (authorized or not).
    pub stations: u64,
    /// Signal of each station in dBm, where reported (for the per-AP histogram).
    pub signals_dbm: Vec<i32>,
    /// Bytes received from the stations associated now (sum of their counters).
    pub rx_bytes: u64,
    /// Bytes sent to the stations associated now (sum of their counters).
    pub tx_bytes: u64,
    /// Channel utilization average (`chan_util_avg`, 0..=255 scaled to 0..=1), when reported.
    pub channel_utilization: Option<f64>,
}

/// Events of one access point counted since the previous sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApEvents {
    /// `AP-STA-CONNECTED` events.
    pub connects: u64,
    /// `AP-STA-DISCONNECTED` events.
    pub disconnects: u64,
    /// Failed authentications (`CTRL-EVENT-EAP-FAILURE`, `AP-STA-POSSIBLE-PSK-MISMATCH`, ...).
    pub auth_failures: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_from_frequencies() {
        assert_eq!(Band::from_mhz(2412), Band::Ghz2_4);
        assert_eq!(Band::from_mhz(5180), Band::Ghz5);
        assert_eq!(Band::from_mhz(5885), Band::Ghz5);
        assert_eq!(Band::from_mhz(5955), Band::Ghz6);
        assert_eq!(Band::from_mhz(0), Band::Unknown);
    }
}
