use super::super::testutil::*;
use serde_json::{Value, json};

/// A query for www.example.com A from port 40000 to 53.
const QUERY: &str = "abcd 0100 0001 0000 0000 0000 03777777 076578616d706c65 03636f6d 00 0001 0001";

/// The record of a UDP datagram from port 53 to 40000 carrying the DNS message `msg` (hex).
fn response(msg: &str) -> Value {
    let n = hex(msg).len();
    decode(
        228,
        &ip4(17, &format!("0035 9c40 {:04x} 0000 {msg}", 8 + n)),
    )
}

#[test]
fn udp_query() {
    let v = decode(
        228,
        &ip4(17, &format!("9c40 0035 {:04x} 0000 {QUERY}", 8 + 33)),
    );
    assert_eq!(
        v["dns"],
        json!({"id":0xabcd,"response":false,"opcode":0,"aa":false,"tc":false,"rd":true,"ra":false,"rcode":null,"qname":"www.example.com","qtype":"A","answers":[]})
    );
    assert_eq!(v["decode_error"], Value::Null);
}

#[test]
fn header_flags() {
    // a truncated (TC) authoritative response, opcode 0, RD, RA, SERVFAIL
    let msg = QUERY.replacen("0100", "8782", 1);
    let v = response(&msg);
    let d = &v["dns"];
    assert_eq!(
        (
            &d["tc"],
            &d["aa"],
            &d["rd"],
            &d["ra"],
            &d["opcode"],
            &d["rcode"]
        ),
        (
            &json!(true),
            &json!(true),
            &json!(true),
            &json!(true),
            &json!(0),
            &json!(2)
        )
    );
}

#[test]
fn udp_response_with_cname_and_a() {
    let msg = "abcd 8180 0001 0002 0000 0000 03777777 076578616d706c65 03636f6d 00 0001 0001
                   c00c 0005 0001 0000012c 0006 03616263 c010
                   c02d 0001 0001 0000003c 0004 5db8d822";
    let v = response(msg);
    assert_eq!(
        v["dns"],
        json!({"id":0xabcd,"response":true,"opcode":0,"aa":false,"tc":false,"rd":true,"ra":true,"rcode":0,"qname":"www.example.com","qtype":"A",
                   "answers":[{"name":"www.example.com","type":"CNAME","ttl":300,"data":"abc.example.com"},
                              {"name":"abc.example.com","type":"A","ttl":60,"data":"93.184.216.34"}]})
    );
}

#[test]
fn tcp_length_prefixed() {
    let tcp = "d431 0035 00000001 00000001 5018 0100 0000 0000";
    let v = decode(228, &ip4(6, &format!("{tcp} 0021 {QUERY}")));
    assert_eq!(v["dns"]["qname"], "www.example.com");
    // a continuation segment (length beyond the segment): no dns, no error
    let v = decode(228, &ip4(6, &format!("{tcp} 0400 {QUERY}")));
    assert!(v.get("dns").is_none());
    assert_eq!(v["decode_error"], Value::Null);
}

#[test]
fn malformed_message_is_an_error() {
    // compression pointer loop in the question
    let msg = "0001 0100 0001 0000 0000 0000 c00c 0001 0001";
    let v = decode(228, &ip4(17, &format!("9c40 0035 0017 0000 {msg}")));
    assert!(v.get("dns").is_none());
    assert_eq!(v["src_port"], 40000);
    let e = v["decode_error"].as_str().unwrap();
    assert_eq!(e, "dns at byte 40: question: compression pointer loop");
    let v = decode(228, &ip4(17, "9c40 0035 000c 0000 0001 0100 0001"));
    assert_eq!(
        v["decode_error"],
        "dns at byte 28: cut short: 12 bytes needed, 4 captured"
    );
}

#[test]
fn names_are_escaped_like_tshark() {
    let mut out = Vec::new();
    super::label(&mut out, b"a.b\\\x01\xe9\"");
    let s: String = serde_json::from_slice(&[b"\"", &out[..], b"\""].concat()).unwrap();
    assert_eq!(s, "a.b\\\\001\u{fffd}\"");
    let mut out = Vec::new();
    super::label(&mut out, b"x\t\x7f\x1f\\y");
    assert_eq!(out, br"x\\t\\177\\037\\y");
    let mut out = Vec::new();
    assert_eq!(super::name(b"\x00", 0, &mut out).ok(), Some(1));
    assert_eq!(out, b"\"<Root>\"");
    assert_eq!(super::type_number("AAAA"), Some(28));
    assert_eq!(super::type_number("TYPE4000"), Some(4000));
}

#[test]
fn unknown_question_type_and_truncated_answers() {
    // SSHFP (44) question; response with 2 answers, the second cut short by the snaplen
    let msg = "0001 8180 0001 0002 0000 0000 01 61 00 002c 0001
                   c00c 0001 0001 0000003c 0004 01020304
                   c00c 0001 0001 0000003c 0004 0102";
    let v = response(msg);
    assert_eq!(v["dns"]["qtype"], "SSHFP");
    assert_eq!(
        v["dns"]["answers"],
        json!([{"name":"a","type":"A","ttl":60,"data":"1.2.3.4"}])
    );
    assert_eq!(v["decode_error"], "dns at byte 63: answer 2: cut short");
}

#[test]
fn mx_txt_ns_and_unknown_rdata() {
    let msg = "0002 8180 0001 0004 0000 0000 01 62 00 000f 0001
                   c00c 000f 0001 00000001 0004 000a c00c
                   c00c 0010 0001 00000002 0007 0268 69 03 7a 0a 7a
                   c00c 0002 0001 00000003 0004 016e c00c
                   c00c 0063 0001 00000004 0001 00";
    let v = response(msg);
    assert_eq!(
        v["dns"]["answers"],
        json!([
            {"name":"b","type":"MX","ttl":1,"data":"10 b"},
            {"name":"b","type":"TXT","ttl":2,"data":"hi z\nz"},
            {"name":"b","type":"NS","ttl":3,"data":"n.b"},
            {"name":"b","type":"SPF","ttl":4,"data":null}
        ])
    );
    assert_eq!(v["decode_error"], Value::Null);
}

/// Random messages biased towards compression pointers, short labels and record headers:
/// every one gives valid JSON, and `dns`, when present, has its fields.
#[test]
fn random_messages_never_break_the_record() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut with_dns = 0;
    for _ in 0..20_000 {
        let n = 12 + (rnd() % 80) as usize;
        let mut m: Vec<u8> = (0..n)
            .map(|_| match rnd() % 8 {
                0 => 0xc0,
                1 => (rnd() % 14) as u8,
                2 => 0,
                3 => 1,
                _ => rnd() as u8,
            })
            .collect();
        m[4] = 0;
        m[5] = (rnd() % 3) as u8; // questions
        m[6] = 0;
        m[7] = (rnd() % 4) as u8; // answers
        let hexed: String = m.iter().map(|b| format!("{b:02x}")).collect();
        let v = response(&hexed);
        if let Some(d) = v.get("dns") {
            with_dns += 1;
            assert!(d["id"].is_u64() && d["response"].is_boolean() && d["answers"].is_array());
        } else {
            assert!(
                v["decode_error"]
                    .as_str()
                    .unwrap()
                    .starts_with("dns at byte ")
            );
        }
    }
    assert!(with_dns > 1000, "{with_dns}");
}

/// Messages built by `simple-dns` read back the same through our reader.
#[test]
fn agrees_with_simple_dns() {
    use simple_dns::rdata::{A, AAAA, CNAME, RData};
    use simple_dns::{CLASS, Name, Packet, QCLASS, QTYPE, Question, ResourceRecord, TYPE};
    let mut p = Packet::new_reply(0x4242);
    p.questions.push(Question::new(
        Name::new_unchecked("www.Example.org"),
        QTYPE::TYPE(TYPE::AAAA),
        QCLASS::CLASS(CLASS::IN),
        false,
    ));
    let rr =
        |n: &'static str, ttl, d| ResourceRecord::new(Name::new_unchecked(n), CLASS::IN, ttl, d);
    p.answers.push(rr(
        "www.Example.org",
        300,
        RData::CNAME(CNAME(Name::new_unchecked("web.example.org"))),
    ));
    p.answers.push(rr(
        "web.example.org",
        60,
        RData::AAAA(AAAA {
            address: 0x2001_0db8_0000_0000_0000_0000_0000_0001,
        }),
    ));
    p.answers.push(rr(
        "web.example.org",
        61,
        RData::A(A {
            address: 0x0a00_0001,
        }),
    ));
    for bytes in [
        p.build_bytes_vec().unwrap(),
        p.build_bytes_vec_compressed().unwrap(),
    ] {
        let back = Packet::parse(&bytes).unwrap();
        let mut udp = vec![0x00, 0x35, 0x9c, 0x40];
        udp.extend_from_slice(&((8 + bytes.len()) as u16).to_be_bytes());
        udp.extend_from_slice(&[0, 0]);
        udp.extend_from_slice(&bytes);
        let hexed: String = udp.iter().map(|b| format!("{b:02x}")).collect();
        let v = decode(228, &ip4(17, &hexed));
        let dns = &v["dns"];
        assert_has(
            dns,
            &json!({"id": back.id(), "qname": back.questions[0].qname.to_string(),
                    "qtype": "AAAA"}),
        );
        let answers = dns["answers"].as_array().unwrap();
        assert_eq!(answers.len(), back.answers.len());
        for (ours, theirs) in answers.iter().zip(&back.answers) {
            assert_eq!(ours["name"], theirs.name.to_string());
            assert_eq!(ours["ttl"], theirs.ttl);
            let data = match &theirs.rdata {
                RData::CNAME(c) => c.0.to_string(),
                RData::AAAA(a) => std::net::Ipv6Addr::from(a.address).to_string(),
                RData::A(a) => std::net::Ipv4Addr::from(a.address).to_string(),
                other => panic!("{other:?}"),
            };
            assert_eq!(ours["data"], data);
        }
    }
}
