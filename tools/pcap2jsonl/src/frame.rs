//! The interface between capture readers (pcap, pcapng, NetMon…) and the frame decoder: every
//! frame of every format, NetMon's own metadata frames included, is a [`FrameMeta`] and its bytes.

/// Everything about a frame except its bytes, as the capture file states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameMeta<'a> {
    /// 1-based frame number, as tshark numbers frames (restarts at 1 for each input file).
    pub frame: u64,
    /// Whole seconds since the epoch (may be negative or past 2106 for pcapng). The time is
    /// `ts_sec + ts_frac / 10^ts_digits` (the fraction is always added, also when `ts_sec < 0`).
    pub ts_sec: i64,
    /// Fractional part, in units of 10^-`ts_digits` seconds (0 <= ts_frac < 10^ts_digits).
    pub ts_frac: u64,
    /// Decimal digits of the capture's resolution: 6 for µs, 9 for ns; always 1..=9 (a
    /// resolution of whole seconds gives 1 digit; pcapng `if_tsresol` powers of two are
    /// converted exactly to n digits for 2^-n up to n = 9, truncated to 9 digits beyond, as
    /// tshark does). Use [`FrameMeta::write_ts`] to print it.
    pub ts_digits: u8,
    /// Interface id (pcapng, numbered within its section as tshark's frame.interface_id);
    /// 0 for classic pcap.
    pub iface: u32,
    /// pcap LINKTYPE_* value of the frame's interface (FCS-length bits masked off).
    pub linktype: u32,
    /// Original length on the wire.
    pub len: u32,
    /// pcapng packet comment (first one), or the title of a NetMon frame comment, if any.
    pub comment: Option<&'a str>,
    /// What a Microsoft Network Monitor file says about the frame besides the above (its own
    /// frame number, media type, comment, process); `None` for pcap and pcapng. The decoder
    /// writes NetMon's own frames (filter, network info, events…) from it.
    pub netmon: Option<&'a NetmonFrame<'a>>,
}

/// A NetMon frame's metadata (`crate::capture::netmon` reads it, `crate::decode` writes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetmonFrame<'a> {
    /// NetMon's own frame number (1-based position in the frame table).
    pub netmon_frame: u64,
    /// The frame's NetMon media type (the file's, or the frame's own from 2.1 on).
    pub media: u16,
    pub comment: Option<&'a NetmonComment>,
    pub process: Option<&'a NetmonProcess>,
}

/// One entry of a NetMon process table (NetMon 3.x "conversations" with process names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetmonProcess {
    pub path: String,
    pub pid: u32,
    pub local_port: u16,
    pub remote_port: u16,
    pub ipv6: bool,
    pub local_addr: [u8; 16],
    pub remote_addr: [u8; 16],
}

/// A frame comment from a NetMon comment table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetmonComment {
    pub title: String,
    pub description: String,
}

impl FrameMeta<'_> {
    /// Appends the timestamp as an exact JSON number with `ts_digits` decimals
    /// (`1278472579.466743`, `-1.250000` for -1.25 s), without allocating.
    pub fn write_ts(&self, out: &mut Vec<u8>) {
        let digits = self.ts_digits.clamp(1, 9) as u32;
        let unit = 10u64.pow(digits);
        let frac = self.ts_frac.min(unit - 1);
        let (neg, sec, frac) = if self.ts_sec < 0 && frac > 0 {
            // -5 + 0.3 = -4.7
            (true, self.ts_sec.unsigned_abs() - 1, unit - frac)
        } else {
            (self.ts_sec < 0, self.ts_sec.unsigned_abs(), frac)
        };
        if neg {
            out.push(b'-');
        }
        let mut b = itoa::Buffer::new();
        out.extend_from_slice(b.format(sec).as_bytes());
        out.push(b'.');
        let mut digits_buf = [b'0'; 9];
        let mut f = frac;
        for i in (0..digits as usize).rev() {
            digits_buf[i] = b'0' + (f % 10) as u8;
            f /= 10;
        }
        out.extend_from_slice(&digits_buf[..digits as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(sec: i64, frac: u64, digits: u8) -> String {
        let m = FrameMeta {
            ts_sec: sec,
            ts_frac: frac,
            ts_digits: digits,
            ..Default::default()
        };
        let mut v = vec![];
        m.write_ts(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn timestamps_are_exact_decimals() {
        assert_eq!(ts(1278472579, 466743, 6), "1278472579.466743");
        assert_eq!(ts(1795545458, 382597872, 9), "1795545458.382597872");
        assert_eq!(ts(4294967296, 0, 9), "4294967296.000000000");
        assert_eq!(ts(0, 5, 6), "0.000005");
        assert_eq!(ts(-5, 300000, 6), "-4.700000");
        assert_eq!(ts(-5, 0, 6), "-5.000000");
        assert_eq!(ts(17, 0, 1), "17.0");
    }
}
