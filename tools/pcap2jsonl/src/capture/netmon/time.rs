//! NetMon time stamps: the capture start (a `SYSTEMTIME`) and each frame's offset from it, or
//! the frame's own UTC `FILETIME` (2.3), as tshark computes them.

use super::Header;

/// Seconds from 1601-01-01 (FILETIME epoch) to 1970-01-01.
pub(super) const FILETIME_EPOCH_OFFSET: i64 = 11_644_473_600;

/// Days from 1970-01-01 to the given proleptic Gregorian date (month 1..=12).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The capture start of a 1.x/2.x header in epoch seconds. The SYSTEMTIME is read as UTC (the
/// file does not say which zone it was in; tshark applies the reader's local zone, so it agrees
/// with this under TZ=UTC). Out-of-range fields carry over as `mktime` normalises them.
pub(super) fn start_seconds(st: &[u16; 8]) -> i64 {
    let [year, month, _dow, day, hour, minute, second, _ms] = st.map(i64::from);
    let m0 = month - 1;
    let y = year + m0.div_euclid(12);
    let m = m0.rem_euclid(12) + 1;
    let days = days_from_civil(y, m, 1) + day - 1;
    days * 86_400 + hour * 3_600 + minute * 60 + second
}

/// Time stamp of one frame as (seconds, nanoseconds), exactly as tshark computes it.
pub(super) fn frame_time(
    h: &Header,
    start_secs: i64,
    delta_raw: u64,
    utc: Option<u64>,
) -> (i64, u32) {
    if let Some(ft) = utc {
        let secs = (ft / 10_000_000) as i64 - FILETIME_EPOCH_OFFSET;
        return (secs, ((ft % 10_000_000) * 100) as u32);
    }
    let start_nsecs = i64::from(h.start[7]) * 1_000_000;
    let delta_ns: i64 = if h.major == 1 {
        i64::from(delta_raw as u32) * 1_000_000
    } else {
        // Microseconds, unsigned on disk but negative values occur: as Wireshark, multiply by
        // 10 as unsigned and read the result as signed 100 ns units.
        (delta_raw.wrapping_mul(10) as i64).wrapping_mul(100)
    };
    let t = start_nsecs.wrapping_add(delta_ns);
    let secs = t.div_euclid(1_000_000_000);
    let nsecs = t.rem_euclid(1_000_000_000) as u32;
    (start_secs.wrapping_add(secs), nsecs)
}
