//! The interface between capture readers (pcap, pcapng, NetMon…) and the frame decoder.

/// Everything about a frame except its bytes, as the capture file states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameMeta<'a> {
    /// 1-based frame number, as tshark numbers frames.
    pub frame: u64,
    /// Whole seconds since the epoch (may be negative or past 2106 for pcapng).
    pub ts_sec: i64,
    /// Fractional part, in units of 10^-`ts_digits` seconds (0 <= ts_frac < 10^ts_digits).
    pub ts_frac: u64,
    /// Decimal digits of the capture's resolution: 6 for µs, 9 for ns (0..=9; pcapng
    /// `if_tsresol` powers of two are converted to the smallest exact decimal up to 9 digits).
    pub ts_digits: u8,
    /// Interface id (pcapng); 0 for classic pcap.
    pub iface: u32,
    /// pcap LINKTYPE_* value of the frame's interface.
    pub linktype: u32,
    /// Original length on the wire.
    pub len: u32,
    /// pcapng packet comment (first one), if any.
    pub comment: Option<&'a str>,
}
