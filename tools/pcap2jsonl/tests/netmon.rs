//! Microsoft Network Monitor captures: files written by a real tool (`editcap -F netmon1` /
//! `-F netmon2` from the shared real captures and the project's lab captures) must give the same
//! packet records as the original pcap/pcapng, with time stamps equal to tshark's on the `.cap`;
//! NetMon's own frames, comments and process table (fixtures built by make_special.py, checked
//! against tshark's reading of them). Damaged files: `netmon_damaged.rs`.
//!
//! Committed fixtures (tests/fixtures/netmon/) keep most checks running without editcap/tshark;
//! with them installed (CI), the conversions are also redone at test time. What needs the
//! external corpus or tshark is reported `SKIPPED:` when they are missing (a failure under
//! `TCPWHY_REQUIRE_CORPUS=1`, as in CI).
//!
//! Over 600 lines: one concept, a well-formed NetMon file read as its original and tshark read
//! it; every test here leans on the same comparison helpers (frames, times, tshark's columns).

#![allow(clippy::unwrap_used)] // tests may unwrap (Cargo.toml, [workspace.lints])

mod common;

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::netmon::*;
use pcap2jsonl::capture::Finish;
use pcap2jsonl::capture::netmon::{self, Outcome};
use serde_json::{Value, json};
use tcpwhy_common::jsonl::JsonlWriter;

const LAB: &str = "../../tests/captures";

/// The corpus' real captures (ask `tcpwhy_tests::corpus()` first whether it is there).
fn real() -> PathBuf {
    tcpwhy_tests::shared_captures().join("real")
}

/// The `ts` of a record exactly as written (not through f64).
fn ts_text(line: &str) -> &str {
    let at = line.find("\"ts\":").expect("ts") + 5;
    let rest = &line[at..];
    &rest[..rest.find(',').unwrap()]
}

/// A decimal time stamp as (seconds, nanoseconds), exact.
fn ts_nanos(s: &str) -> i128 {
    let (neg, s) = s.strip_prefix('-').map_or((false, s), |r| (true, r));
    let (w, f) = s.split_once('.').unwrap_or((s, ""));
    let mut frac = f.to_string();
    assert!(frac.len() <= 9, "{s}");
    while frac.len() < 9 {
        frac.push('0');
    }
    let v = w.parse::<i128>().unwrap() * 1_000_000_000 + frac.parse::<i128>().unwrap();
    if neg { -v } else { v }
}

/// tshark's (frame.number, frame.time_epoch in ns, frame.len, frame.cap_len) for a file, read
/// in UTC (tshark reads NetMon's SYSTEMTIME start in the local zone).
fn tshark_frames(path: &Path) -> Vec<(u64, i128, u64, u64)> {
    let out = Command::new("tshark")
        .env("TZ", "UTC")
        .args(["-n", "-r"])
        .arg(path)
        .args([
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.time_epoch",
        ])
        .args(["-e", "frame.len", "-e", "frame.cap_len"])
        .output()
        .expect("tshark");
    parse_frames_tsv(&String::from_utf8_lossy(&out.stdout))
}

fn parse_frames_tsv(text: &str) -> Vec<(u64, i128, u64, u64)> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].parse().unwrap(),
                ts_nanos(f[1]),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

/// Our numbered records as tshark's columns.
fn our_frames(lines: &[String]) -> Vec<(u64, i128, u64, u64)> {
    lines
        .iter()
        .filter_map(|l| {
            let v = parse(l);
            let frame = v["frame"].as_u64().unwrap();
            (frame != 0).then(|| {
                // tshark's frame.len/cap_len for ATM include NetMon's pseudo-header; none here.
                (
                    frame,
                    ts_nanos(ts_text(l)),
                    v["len"].as_u64().unwrap(),
                    v["caplen"].as_u64().unwrap(),
                )
            })
        })
        .collect()
}

/// The fields that legitimately differ between a capture and its NetMon conversion: the time
/// stamp (NetMon 1.x keeps milliseconds, 2.0 microseconds; checked separately), the interface
/// (NetMon has none) and the pcapng comment (editcap writes none).
fn comparable(line: &str) -> Value {
    let mut v = parse(line);
    let o = v.as_object_mut().unwrap();
    for k in ["ts", "iface", "comment"] {
        o.remove(k);
    }
    v
}

/// Checks a NetMon conversion against its original: same records but for the documented
/// fields, time stamps within the format's resolution, and (when given) tshark's values.
fn check_conversion(
    label: &str,
    orig: &[String],
    cap: &[u8],
    version: u8,
    tshark: Option<&[(u64, i128, u64, u64)]>,
) {
    let (ours, outcome) = read_netmon(cap);
    assert_eq!(outcome.warnings, Vec::<String>::new(), "{label}");
    assert_eq!(outcome.errors, Vec::<String>::new(), "{label}");
    assert_eq!(ours.len(), orig.len(), "{label}: record count");
    // editcap rounds to the nearest ms / µs relative to the first frame's time cut to the ms.
    let half = if version == 1 { 500_000 } else { 500 };
    let digits = if version == 1 { 3 } else { 6 };
    let first = orig
        .first()
        .map(|l| ts_nanos(ts_text(l)) / 1_000_000 * 1_000_000);
    for (a, b) in orig.iter().zip(&ours) {
        assert_eq!(comparable(a), comparable(b), "{label}");
        let (ta, tb) = (ts_nanos(ts_text(a)), ts_nanos(ts_text(b)));
        // NetMon 1.x offsets are unsigned 32-bit milliseconds: a frame earlier than the first
        // (icmpv6.pcap has some) wraps, in tshark too (checked below).
        let representable = version == 2
            || first.is_some_and(|f| (0..=u32::MAX as i128 * 1_000_000).contains(&(ta - f)));
        if representable {
            assert!((ta - tb).abs() <= half, "{label}: ts {ta} vs {tb}");
        }
        let frac = ts_text(b).split_once('.').unwrap().1;
        assert_eq!(frac.len(), digits, "{label}: {b}");
    }
    if let Some(t) = tshark {
        assert_eq!(
            our_frames(&ours),
            t,
            "{label}: tshark's frame.number/time_epoch/len/cap_len"
        );
    }
}

/// Every capture editcap can convert: the shared real Ethernet captures and the lab's.
fn conversion_sources() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in [real(), PathBuf::from(LAB)] {
        let Ok(rd) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut names: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
            .collect();
        names.sort();
        v.extend(names);
    }
    v
}

/// Captures whose conversions are also checked against tshark (tshark costs ~0.25 s of CPU
/// per run; every conversion is compared with its original): the largest shared capture, a
/// two-interface pcapng, one with frames earlier than the first (NetMon 1.x wraps them), DNS,
/// and the lab's captures of the seed's two cases.
const TSHARK_CHECKED: &[&str] = &[
    "pcapparser-wireshark_samples-test.pcapng",
    "netns-two-interfaces.pcapng",
    "icmpv6.pcap",
    "tcpreplay-test.pcap",
    "edns-opts.pcap",
    "refused-2383.pcap",
    "zero-window-synack.pcap",
    "middlebox-reset.pcap",
];

#[test]
fn editcap_conversions_match_the_original_and_tshark() {
    if tcpwhy_tests::corpus().is_none()
        || !tcpwhy_tests::need_tool("editcap", "wireshark-common")
        || !tcpwhy_tests::need_tool("tshark", "tshark")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let sources = conversion_sources();
    // Two threads: the external tools dominate.
    let converted: usize = std::thread::scope(|scope| {
        let jobs: Vec<_> = [0, 1]
            .map(|part| {
                let (sources, dir) = (&sources, dir.path());
                scope.spawn(move || {
                    sources
                        .iter()
                        .skip(part)
                        .step_by(2)
                        .map(|src| convert_and_check(src, dir))
                        .sum::<usize>()
                })
            })
            .into_iter()
            .collect();
        jobs.into_iter().map(|j| j.join().unwrap()).sum()
    });
    // tcpreplay-test, dns_*, edns-opts, the pcapng ones, the lab's, … in both versions.
    assert!(converted >= 30, "only {converted} conversions");
}

/// Converts one capture to NetMon 1.x and 2.x and checks both; the number converted.
fn convert_and_check(src: &Path, dir: &Path) -> usize {
    let (orig, res) = read_capture(std::fs::read(src).unwrap());
    if !matches!(res, Ok(Finish::Clean)) {
        return 0;
    }
    let name = src.file_name().unwrap().to_string_lossy().into_owned();
    let mut converted = 0;
    for version in [1u8, 2] {
        let cap = dir.join(format!("{name}.nm{version}.cap"));
        let st = Command::new("editcap")
            .args(["-F", &format!("netmon{version}")])
            .arg(src)
            .arg(&cap)
            .env("TZ", "UTC")
            .output()
            .unwrap();
        if !st.status.success() {
            // Not Ethernet/Token Ring/FDDI/ATM (raw IP, SLL, PPP…): NetMon cannot hold it.
            continue;
        }
        let bytes = std::fs::read(&cap).unwrap();
        let tshark = TSHARK_CHECKED
            .contains(&name.as_str())
            .then(|| tshark_frames(&cap));
        check_conversion(
            &cap.display().to_string(),
            &orig,
            &bytes,
            version,
            tshark.as_deref(),
        );
        converted += 1;
    }
    converted
}

/// The committed conversions (made with `TZ=UTC editcap -F netmonN`), with tshark's values
/// saved beside them, so these checks run without editcap and tshark.
#[test]
fn committed_conversions_match_the_original_and_tshark() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    // Without tshark the saved values are used alone (reported as a partial skip).
    let tshark = tcpwhy_tests::need_tool("tshark", "tshark");
    let cases = [
        ("dns_udp.pcap", "dns_udp.nm1.cap", 1u8),
        ("dns_udp.pcap", "dns_udp.nm2.cap", 2),
        ("tcpreplay-test.pcap", "tcpreplay-test.nm1.cap", 1),
        (
            "netns-two-interfaces.pcapng",
            "netns-two-interfaces.nm2.cap",
            2,
        ),
    ];
    for (orig, cap, version) in cases {
        let (orig_lines, res) = read_capture(std::fs::read(real().join(orig)).unwrap());
        assert!(matches!(res, Ok(Finish::Clean)), "{orig}");
        let expected =
            std::fs::read_to_string(Path::new(FIXTURES).join(format!("{cap}.tsv"))).unwrap();
        check_conversion(
            cap,
            &orig_lines,
            &fixture(cap),
            version,
            Some(&parse_frames_tsv(&expected)),
        );
        if tshark {
            let live = tshark_frames(&Path::new(FIXTURES).join(cap));
            assert_eq!(
                live,
                parse_frames_tsv(&expected),
                "{cap}: saved tshark values are stale"
            );
        }
    }
}

#[test]
fn pcapng_interfaces_become_iface_0() {
    if tcpwhy_tests::corpus().is_none() {
        return;
    }
    // The two-interface pcapng has frames on interface 1; NetMon has no interfaces.
    let (orig, _) =
        read_capture(std::fs::read(real().join("netns-two-interfaces.pcapng")).unwrap());
    assert!(orig.iter().any(|l| parse(l)["iface"] == json!(1)));
    let (ours, _) = read_netmon(&fixture("netns-two-interfaces.nm2.cap"));
    assert!(ours.iter().all(|l| parse(l)["iface"] == json!(0)));
}

// ---- NetMon's own frames, comments, processes, per-frame media types and UTC stamps ----

#[test]
fn special_files_match_tshark() {
    let tshark = tcpwhy_tests::need_tool("tshark", "tshark");
    for v in ["2.1", "2.2", "2.3"] {
        let cap = format!("special-{v}.cap");
        let (ours, outcome) = special(v);
        assert_eq!(
            outcome,
            Outcome {
                records: ours.len() as u64,
                ..Default::default()
            },
            "{cap}"
        );
        let expected =
            std::fs::read_to_string(Path::new(FIXTURES).join(format!("{cap}.tsv"))).unwrap();
        assert_eq!(our_frames(&ours), parse_frames_tsv(&expected), "{cap}");
        if tshark {
            assert_eq!(
                tshark_frames(&Path::new(FIXTURES).join(&cap)),
                parse_frames_tsv(&expected),
                "{cap}: stale"
            );
        }
    }
}

#[test]
fn filter_frame_and_per_frame_media_types() {
    let (l, _) = special("2.1");
    let r: Vec<Value> = l.iter().map(|x| parse(x)).collect();
    assert_eq!(r.len(), 5);
    let f = &r[0];
    assert_eq!(f["link"], json!("netmon_filter"));
    assert_eq!(f["frame"], json!(1));
    assert_eq!(f["decode_error"], Value::Null);
    assert_eq!(
        f["netmon"],
        json!({"frame":1,"media_type":65535,"filter_type":"capture","application":"Network Monitor",
               "application_version":"3.4","filter":"tcp.port == 2383"})
    );
    // Ethernet, NetMon raw IP (9) and a converted pcap LINKTYPE_IPV4 (0xE000|228): the same
    // SYN, decoded by the decoder with the mapped link type; no `netmon` object on them.
    for (i, frame) in [(1usize, 2u64), (2, 3), (3, 4)] {
        assert_eq!(r[i]["frame"], json!(frame));
        assert!(r[i].get("netmon").is_none(), "{}", l[i]);
    }
    assert_ne!(r[1]["link"], r[2]["link"]);
    // A negative offset (-1 µs) puts frame 5 before the capture start.
    assert_eq!(ts_text(&l[4]), "1278472579.465999");
    assert_eq!(ts_text(&l[0]), "1278472579.466000");
}

#[test]
fn network_info_comments_and_processes() {
    let (l, _) = special("2.2");
    let r: Vec<Value> = l.iter().map(|x| parse(x)).collect();
    assert_eq!(
        r.len(),
        6,
        "every frame is a record, the ones tshark skips too"
    );
    let ni = &r[0];
    assert_eq!(ni["link"], json!("netmon_network_info"));
    assert_eq!(ni["netmon"]["computer_name"], json!("WEB1"));
    let a = &ni["netmon"]["adapters"][0];
    assert_eq!(a["name"], json!("Local Area Connection"));
    assert_eq!(a["mac"], json!("f8:1e:df:e5:84:3a"));
    assert_eq!(a["ipv4"], json!(["10.0.0.1"]));
    assert_eq!(a["ipv4_masks"], json!(["255.255.255.0"]));
    assert_eq!(a["gateways"], json!(["10.0.0.254"]));
    assert_eq!(a["dns_servers"], json!(["10.0.0.53"]));
    assert_eq!(a["link_speed"], json!(1_000_000_000u64));
    // Frame 2: comment (title in `comment`, both parts in `netmon`) and the process tied to
    // the connection.
    let syn = &r[1];
    assert_eq!(syn["frame"], json!(2));
    assert_eq!(syn["comment"], json!("SYN to SSAS"));
    assert_eq!(
        syn["netmon"],
        json!({"frame":2,"media_type":1,"comment_title":"SYN to SSAS",
               "comment_description":"the first attempt",
               "process":{"name":"w3wp.exe","path":"C:\\Windows\\System32\\inetsrv\\w3wp.exe",
                          "pid":4242,"local_ip":"10.0.0.1","local_port":20531,
                          "remote_ip":"172.16.0.1","remote_port":2383}})
    );
    // Frame table entry 3: DNS cache, which tshark skips: frame 0, NetMon's number kept.
    assert_eq!(r[2]["frame"], json!(0));
    assert_eq!(r[2]["link"], json!("netmon_dns_cache"));
    assert_eq!(r[2]["netmon"], json!({"frame":3,"media_type":65534}));
    // Entry 4 is tshark's frame 3 (numbers differ from NetMon's from here on: `netmon.frame`).
    assert_eq!(r[3]["frame"], json!(3));
    assert_eq!(r[3]["comment"], json!("RST from 172.16.0.1"));
    assert_eq!(r[3]["netmon"]["frame"], json!(4));
    assert_eq!(r[3]["netmon"]["comment_description"], json!(""));
    assert_eq!(r[4]["frame"], json!(0));
    assert_eq!(r[4]["link"], json!("netmon_network_info"));
    // Process index 7 is not in the table: no process, but NetMon's frame number.
    assert_eq!(r[5]["frame"], json!(4));
    assert_eq!(r[5]["netmon"], json!({"frame":6,"media_type":1}));
}

#[test]
fn utc_timestamps_of_2_3() {
    let (l, _) = special("2.3");
    // 100 ns resolution: 7 decimals, from the per-frame FILETIME, not start + offset.
    let ts: Vec<&str> = l.iter().map(|x| ts_text(x)).collect();
    assert_eq!(
        ts,
        [
            "1278526400.1234567",
            "1278526400.1234568",
            "1278526401.1234566",
            "1278526401.1234567"
        ]
    );
    let ev = parse(&l[3]);
    assert_eq!(ev["link"], json!("netmon_event"));
    // The ETW event header, values as tshark's netmon_event.* fields.
    assert_eq!(ev["decode_error"], Value::Null);
    assert_eq!(
        ev["netmon"],
        json!({"frame":4,"media_type":65504,"pid":4242,"thread_id":1234,
               "provider_id":"2ed6006e-4729-4609-b423-3e8f1a4a8a6d","event_id":1001,
               "level":4,"opcode":0})
    );
    // Cut short: what was read, and where it stopped.
    let b = fixture("special-2.3.cap");
    let ft = u32::from_le_bytes(b[24..28].try_into().unwrap()) as usize;
    let f4 = u32::from_le_bytes(b[ft + 12..ft + 16].try_into().unwrap()) as usize;
    let mut cut = b.clone();
    // incl_len 16: the event keeps 16 bytes, and its trailer moves up to follow them.
    cut[f4 + 12..f4 + 16].copy_from_slice(&16u32.to_le_bytes());
    let trailer: Vec<u8> = b[f4 + 16 + 89..f4 + 16 + 89 + 15].to_vec();
    cut[f4 + 16 + 16..f4 + 16 + 16 + 15].copy_from_slice(&trailer);
    let (l, _) = read_netmon(&cut);
    let ev = parse(&l[3]);
    assert_eq!(
        ev["decode_error"],
        json!("netmon_event: content cut short at byte 16 of the frame")
    );
    assert_eq!(ev["netmon"]["pid"], json!(4242));
    assert_eq!(ev["caplen"], json!(16));
}

// ---- streams: stdin and gzip ----

/// A reader that hands out a few bytes at a time and cannot seek, like a pipe.
struct Pipe(Cursor<Vec<u8>>);
impl Read for Pipe {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        let n = b.len().min(7);
        self.0.read(&mut b[..n])
    }
}

#[test]
fn streams_are_spooled() {
    let bytes = fixture("tcpreplay-test.nm1.cap");
    let (direct, _) = read_netmon(&bytes);
    let mut w = JsonlWriter::new(Vec::new());
    let o = netmon::read_stream(
        &bytes[..4],
        Pipe(Cursor::new(bytes[4..].to_vec())),
        "-",
        &mut w,
    )
    .unwrap();
    assert!(o.errors.is_empty() && o.warnings.is_empty());
    assert_eq!(lines(w), direct);

    // gzip, through the capture reader's detection and the dispatch point.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &bytes).unwrap();
    let (via_gzip, res) = read_capture(gz.finish().unwrap());
    assert!(matches!(res, Ok(Finish::Clean)), "{res:?}");
    assert_eq!(via_gzip, direct);
}

#[test]
fn cli_files_stdin_and_gzip() {
    let cap = Path::new(FIXTURES).join("tcpreplay-test.nm1.cap");
    let (direct, _) = read_netmon(&fixture("tcpreplay-test.nm1.cap"));
    let expected = direct.join("\n") + "\n";
    assert_cmd::Command::cargo_bin("pcap2jsonl")
        .unwrap()
        .arg(&cap)
        .assert()
        .success()
        .stdout(expected.clone());
    assert_cmd::Command::cargo_bin("pcap2jsonl")
        .unwrap()
        .arg("-")
        .pipe_stdin(&cap)
        .unwrap()
        .assert()
        .success()
        .stdout(expected.clone());
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("x.cap.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, &fixture("tcpreplay-test.nm1.cap")).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    assert_cmd::Command::cargo_bin("pcap2jsonl")
        .unwrap()
        .arg(&gz)
        .assert()
        .success()
        .stdout(expected);
}

#[test]
fn unusual_media_types_are_records_too() {
    let orig = fixture("special-2.1.cap");
    let ft = u32::from_le_bytes(orig[24..28].try_into().unwrap()) as usize;
    let f2 = u32::from_le_bytes(orig[ft + 4..ft + 8].try_into().unwrap()) as usize;
    let incl = u32::from_le_bytes(orig[f2 + 12..f2 + 16].try_into().unwrap()) as usize;
    let trailer = f2 + 16 + incl;
    let cases: [(u16, &str, &str); 5] = [
        (4, "netmon_atm", "netmon_atm: ATM frames are not decoded"),
        (
            6,
            "netmon_802_11",
            "netmon_802_11: NetMon media type 6 (802.11 with NetMon radio metadata) is not decoded",
        ),
        (
            5,
            "netmon_media_5",
            "netmon_media_5: NetMon media type 5 (unknown) is not decoded",
        ),
        (
            0xE083,
            "netmon_media_57475",
            "netmon_media_57475: NetMon media type 57475 (Message Analyzer / WFP message) is not decoded",
        ),
        (
            0x1234,
            "netmon_media_4660",
            "netmon_media_4660: NetMon media type 4660 (unknown) is not decoded",
        ),
    ];
    for (media, link, error) in cases {
        let mut b = orig.clone();
        b[trailer..trailer + 2].copy_from_slice(&media.to_le_bytes());
        let (l, o) = read_netmon(&b);
        assert!(o.errors.is_empty() && o.warnings.is_empty());
        assert_eq!(l.len(), 5, "the frames after it are read on");
        let r = parse(&l[1]);
        assert_eq!(r["frame"], json!(2));
        assert_eq!(r["link"], json!(link));
        assert_eq!(r["decode_error"], json!(error));
        assert_eq!(r["netmon"]["media_type"], json!(media));
        if media == 4 {
            // NetMon's 16-byte ATM pseudo-header is not part of the frame's lengths.
            assert_eq!(
                (r["len"].clone(), r["caplen"].clone()),
                (json!(38), json!(38))
            );
            assert_eq!(r["netmon"]["vpi"], json!(0x0800)); // bytes 12-13 of the test frame
        } else {
            assert_eq!(r["caplen"], json!(54));
        }
    }
    // A whole 2.0 file of media type 4 (ATM): every frame a `netmon_atm` record.
    let mut b = fixture("dns_udp.nm2.cap");
    b[6] = 4;
    let (l, _) = read_netmon(&b);
    assert!(l.iter().all(|x| parse(x)["link"] == json!("netmon_atm")));
    // A raw IP (9) file goes to the decoder as LINKTYPE_RAW.
    b[6] = 9;
    let (l, _) = read_netmon(&b);
    assert_eq!(parse(&l[0])["link"], json!("raw"));
}

/// The content of NetMon's own frames and comments, field by field against tshark's dissection
/// of the same files (netmon_filter, netmon_network_info, netmon_event, netmon_header).
#[test]
fn special_contents_match_tshark() {
    if !tcpwhy_tests::need_tool("tshark", "tshark") {
        return;
    }
    let fields = [
        ("netmon_filter.filter", "filter"),
        ("netmon_network_info.computer_name", "computer_name"),
        ("netmon_network_info.mtu", "adapters[0].mtu"),
        ("netmon_event.process_id", "pid"),
        ("netmon_event.thread_id", "thread_id"),
        ("netmon_event.provider_id", "provider_id"),
        ("netmon_event.event_desc.id", "event_id"),
        ("netmon_header.title_comment", "comment_title"),
        ("netmon_header.description_comment", "comment_description"),
    ];
    let mut compared = 0;
    for v in ["2.1", "2.2", "2.3"] {
        let cap = Path::new(FIXTURES).join(format!("special-{v}.cap"));
        let mut cmd = Command::new("tshark");
        cmd.env("TZ", "UTC").args(["-n", "-r"]).arg(&cap).args([
            "-T",
            "fields",
            "-E",
            "occurrence=f",
            "-e",
            "frame.number",
        ]);
        for (f, _) in fields {
            cmd.args(["-e", f]);
        }
        let out = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
        let (ours, _) = read_netmon(&fixture(&format!("special-{v}.cap")));
        let by_frame: std::collections::HashMap<u64, Value> = ours
            .iter()
            .map(|l| parse(l))
            .filter(|r| r["frame"] != json!(0))
            .map(|r| (r["frame"].as_u64().unwrap(), r))
            .collect();
        for line in out.lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            let r = &by_frame[&cols[0].parse::<u64>().unwrap()];
            for (i, (_, ours_path)) in fields.iter().enumerate() {
                let theirs = cols[i + 1];
                if theirs.is_empty() {
                    continue;
                }
                let mut node = &r["netmon"];
                for part in ours_path.split('.') {
                    node = match part.strip_suffix("[0]") {
                        Some(p) => &node[p][0],
                        None => &node[part],
                    };
                }
                let mine = match node {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                assert_eq!(
                    mine, theirs,
                    "special-{v}.cap frame {}: {ours_path}",
                    cols[0]
                );
                compared += 1;
            }
        }
    }
    assert!(compared >= 12, "only {compared} values compared");
}
