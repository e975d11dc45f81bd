//! Listing bytes → text: UTF-8, UTF-16 (with or without a BOM), and the 8-bit code pages a
//! Windows console writes (OEM: CP437, CP850, CP852, CP866, CP932 …; ANSI: Windows-1252 …).
//!
//! A file may hold parts in different encodings: `netstat -ano > f.txt` in Windows PowerShell
//! 5.1 writes UTF-16LE, and `tasklist >> f.txt` from cmd.exe then appends bytes in the
//! console's code page (or UTF-8). Each part is decoded with its own encoding.
//!
//! The double-byte code pages and the ANSI ones come from `encoding_rs`. It has no DOS code
//! pages (CP437, CP850, …: the WHATWG Encoding Standard it implements leaves them out but for
//! IBM866), so those tables come from the `oem_cp` crate.

use std::fmt;

use encoding_rs::{BIG5, EUC_KR, GBK, SHIFT_JIS, WINDOWS_1250, WINDOWS_1251, WINDOWS_1252};

/// A text encoding `--encoding` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    /// Japanese (Shift_JIS as Windows extends it).
    Cp932,
    /// Simplified Chinese (GBK).
    Cp936,
    /// Korean (Unified Hangul Code, a superset of EUC-KR).
    Cp949,
    /// Traditional Chinese (Big5).
    Cp950,
    /// DOS United States.
    Cp437,
    /// DOS Western Europe (the console code page of German, French, Spanish, Italian … Windows).
    Cp850,
    /// DOS Central Europe (Polish, Czech, Hungarian … consoles).
    Cp852,
    /// DOS Cyrillic (Russian consoles).
    Cp866,
    Windows1250,
    Windows1251,
    Windows1252,
}

impl Encoding {
    /// Names accepted by `--encoding` (the first of each is the one printed).
    const NAMES: [(Encoding, &'static [&'static str]); 14] = [
        (Encoding::Utf8, &["utf-8", "utf8", "cp65001"]),
        (
            Encoding::Utf16Le,
            &["utf-16le", "utf-16", "utf16", "unicode"],
        ),
        (Encoding::Utf16Be, &["utf-16be", "bigendianunicode"]),
        (
            Encoding::Cp932,
            &["cp932", "shift_jis", "shift-jis", "sjis", "windows-31j"],
        ),
        (Encoding::Cp936, &["cp936", "gbk", "gb2312"]),
        (Encoding::Cp949, &["cp949", "euc-kr", "uhc"]),
        (Encoding::Cp950, &["cp950", "big5"]),
        (Encoding::Cp437, &["cp437", "ibm437"]),
        (Encoding::Cp850, &["cp850", "ibm850"]),
        (Encoding::Cp852, &["cp852", "ibm852"]),
        (Encoding::Cp866, &["cp866", "ibm866"]),
        (Encoding::Windows1250, &["windows-1250", "cp1250"]),
        (Encoding::Windows1251, &["windows-1251", "cp1251"]),
        (
            Encoding::Windows1252,
            &["windows-1252", "cp1252", "latin1", "iso-8859-1"],
        ),
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(e, _)| *e == self)
            .map(|(_, n)| n[0])
            .unwrap_or("?")
    }

    pub fn from_name(s: &str) -> Option<Encoding> {
        let s = s.to_ascii_lowercase();
        Self::NAMES
            .iter()
            .find(|(_, ns)| ns.contains(&s.as_str()))
            .map(|(e, _)| *e)
    }

    /// Every `--encoding` value (besides `auto`): its name and its aliases.
    pub fn names() -> impl Iterator<Item = (&'static str, &'static [&'static str])> {
        Self::NAMES.iter().map(|(_, n)| (n[0], &n[1..]))
    }

    fn is_utf(self) -> bool {
        matches!(self, Encoding::Utf8 | Encoding::Utf16Le | Encoding::Utf16Be)
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One decoded part of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub text: String,
    pub encoding: Encoding,
}

/// The 8-bit code pages tried, in the order that wins a tie (the commonest console code
/// pages first).
const CANDIDATES: [Encoding; 9] = [
    Encoding::Cp850,
    Encoding::Cp437,
    Encoding::Windows1252,
    Encoding::Cp932,
    Encoding::Cp936,
    Encoding::Cp852,
    Encoding::Cp866,
    Encoding::Windows1250,
    Encoding::Windows1251,
];

/// Decodes a file. `forced`: UTF-8 or UTF-16 decode the whole file so; a code page decodes
/// every part that is not UTF-16 (instead of guessing it).
pub fn decode(bytes: &[u8], forced: Option<Encoding>) -> Vec<Part> {
    match forced {
        Some(e @ (Encoding::Utf16Le | Encoding::Utf16Be)) => {
            let body = strip_utf16_bom(bytes, e);
            return vec![Part {
                text: utf16(body, e == Encoding::Utf16Le),
                encoding: e,
            }];
        }
        Some(Encoding::Utf8) => {
            let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            return vec![Part {
                text: String::from_utf8_lossy(body).into_owned(),
                encoding: Encoding::Utf8,
            }];
        }
        _ => {}
    }
    let code_page = forced.filter(|e| !e.is_utf());
    let mut parts = vec![];
    for (kind, range) in split_utf16(bytes) {
        let b = &bytes[range];
        if b.is_empty() {
            continue;
        }
        match kind {
            Some(e) => parts.push(Part {
                text: utf16(strip_utf16_bom(b, e), e == Encoding::Utf16Le),
                encoding: e,
            }),
            None => {
                let (text, encoding) = decode_8bit(b, code_page);
                parts.push(Part { text, encoding });
            }
        }
    }
    if parts.is_empty() {
        parts.push(Part {
            text: String::new(),
            encoding: Encoding::Utf8,
        });
    }
    parts
}

fn strip_utf16_bom(b: &[u8], e: Encoding) -> &[u8] {
    let bom: &[u8] = if e == Encoding::Utf16Le {
        b"\xFF\xFE"
    } else {
        b"\xFE\xFF"
    };
    b.strip_prefix(bom).unwrap_or(b)
}

fn utf16(b: &[u8], le: bool) -> String {
    let units: Vec<u16> = b
        .chunks(2)
        .map(|c| {
            let pair = [c[0], c.get(1).copied().unwrap_or(0)];
            if le {
                u16::from_le_bytes(pair)
            } else {
                u16::from_be_bytes(pair)
            }
        })
        .collect();
    String::from_utf16_lossy(&units)
}

/// The file cut into at most three parts: 8-bit text, UTF-16, 8-bit text (`None` = 8-bit).
/// UTF-16 is where the NUL bytes are (text in a listing is mostly ASCII, whose UTF-16 has a
/// NUL in every other byte; 8-bit text has none), or where a BOM says so.
fn split_utf16(bytes: &[u8]) -> Vec<(Option<Encoding>, std::ops::Range<usize>)> {
    let n = bytes.len();
    let whole8 = vec![(None, 0..n)];
    let bom_le = bytes.starts_with(b"\xFF\xFE");
    let bom_be = bytes.starts_with(b"\xFE\xFF");
    let (Some(first), Some(last)) = (
        bytes.iter().position(|&b| b == 0),
        bytes.iter().rposition(|&b| b == 0),
    ) else {
        return if bom_le {
            vec![(Some(Encoding::Utf16Le), 0..n)]
        } else if bom_be {
            vec![(Some(Encoding::Utf16Be), 0..n)]
        } else {
            whole8
        };
    };
    // Endianness: a NUL after an ASCII byte (LE) or before one (BE).
    let le = if bom_le || bom_be {
        bom_le
    } else {
        let (mut lo, mut hi) = (0usize, 0usize);
        for i in first..=last.min(first + 4096) {
            if bytes[i] == 0 {
                if i > 0 && bytes[i - 1] != 0 && bytes[i - 1] < 0x80 {
                    lo += 1;
                }
                if i + 1 < n && bytes[i + 1] != 0 && bytes[i + 1] < 0x80 {
                    hi += 1;
                }
            }
        }
        lo >= hi
    };
    let mut start = if bom_le || bom_be {
        0
    } else if le {
        first.saturating_sub(1)
    } else {
        first
    };
    // A BOM right before the first NUL-bearing unit belongs to the UTF-16 part.
    if start >= 2
        && (&bytes[start - 2..start] == b"\xFF\xFE" || &bytes[start - 2..start] == b"\xFE\xFF")
    {
        start -= 2;
    }
    let mut end = if le { last + 1 } else { last + 2 }.min(n);
    if (end - start) % 2 == 1 {
        end = (end + 1).min(n);
    }
    // Too few NULs for UTF-16 text: a stray NUL in 8-bit text.
    let zeros = bytes[start..end].iter().filter(|&&b| b == 0).count();
    if !(bom_le || bom_be) && zeros * 5 < (end - start) / 2 {
        return whole8;
    }
    // A short tail with no line break is more UTF-16 (non-ASCII characters have no NUL).
    let tail = &bytes[end..];
    if !tail.is_empty()
        && tail.len() % 2 == 0
        && tail.len() < 16
        && !tail.iter().any(|&b| b == b'\n' || b == b'\r')
    {
        end = n;
    }
    let enc = if le {
        Encoding::Utf16Le
    } else {
        Encoding::Utf16Be
    };
    vec![(None, 0..start), (Some(enc), start..end), (None, end..n)]
}

/// Decodes 8-bit text: UTF-8 when it is valid UTF-8 (or has the UTF-8 BOM), else the code page
/// `forced`, else the code page whose reading is the most plausible text.
fn decode_8bit(b: &[u8], forced: Option<Encoding>) -> (String, Encoding) {
    if let Some(e) = forced {
        return (decode_with(b, e).0, e);
    }
    if let Some(rest) = b.strip_prefix(b"\xEF\xBB\xBF") {
        return (String::from_utf8_lossy(rest).into_owned(), Encoding::Utf8);
    }
    if let Ok(s) = std::str::from_utf8(b) {
        return (s.to_string(), Encoding::Utf8);
    }
    // Only the lines with non-ASCII bytes tell code pages apart: up to 64 KiB of them are
    // scored (memory stays bounded on a 256 MiB listing), then the winner decodes it all.
    let mut sample = Vec::new();
    for line in b.split(|&c| c == b'\n') {
        if sample.len() >= 64 * 1024 {
            break;
        }
        if !line.is_ascii() {
            sample.extend_from_slice(line);
            sample.push(b'\n');
        }
    }
    let mut best: Option<(i64, Encoding)> = None;
    for e in CANDIDATES {
        let (text, errors) = decode_with(&sample, e);
        let score = plausibility(&text) - 40 * errors as i64;
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, e));
        }
    }
    let (_, e) = best.expect("candidates are not empty");
    (decode_with(b, e).0, e)
}

/// Text and the number of malformed sequences.
fn decode_with(b: &[u8], e: Encoding) -> (String, usize) {
    let table: &[char; 128] = match e {
        Encoding::Cp437 => &oem_cp::code_table::DECODING_TABLE_CP437,
        Encoding::Cp850 => &oem_cp::code_table::DECODING_TABLE_CP850,
        Encoding::Cp852 => &oem_cp::code_table::DECODING_TABLE_CP852,
        Encoding::Cp866 => &oem_cp::code_table::DECODING_TABLE_CP866,
        Encoding::Utf8 => return (String::from_utf8_lossy(b).into_owned(), 0),
        Encoding::Utf16Le => return (utf16(b, true), 0),
        Encoding::Utf16Be => return (utf16(b, false), 0),
        _ => {
            let enc = match e {
                Encoding::Cp932 => SHIFT_JIS,
                Encoding::Cp936 => GBK,
                Encoding::Cp949 => EUC_KR,
                Encoding::Cp950 => BIG5,
                Encoding::Windows1250 => WINDOWS_1250,
                Encoding::Windows1251 => WINDOWS_1251,
                _ => WINDOWS_1252,
            };
            let (text, _) = enc.decode_without_bom_handling(b);
            let errors = text.chars().filter(|&c| c == '\u{FFFD}').count();
            return (text.into_owned(), errors);
        }
    };
    let text = b
        .iter()
        .map(|&c| {
            if c < 0x80 {
                c as char
            } else {
                table[(c - 0x80) as usize]
            }
        })
        .collect();
    (text, 0)
}

/// Letters that are common in the Western and Central European languages Windows is
/// translated into.
fn common_latin(c: char) -> bool {
    "äöüßéèêëàâáçñíìîïóòôúùûÄÖÜÉÈÀÇÑÓÚãõÃÕøØåÅæÆœąćęłńśźżĄĆĘŁŃŚŹŻčďěňřšťůžýČŘŠŽőűşğıİ".contains(c)
}

/// How much a decoded text reads as text: letters of one script in words score, symbols,
/// box drawing and characters wedged between ASCII letters cost.
fn plausibility(text: &str) -> i64 {
    let mut score = 0i64;
    let mut last = ' ';
    let mut it = text.chars().peekable();
    while let Some(c) = it.next() {
        let next = it.peek().copied().unwrap_or(' ');
        let prev = std::mem::replace(&mut last, c);
        if c.is_ascii() {
            continue;
        }
        let cp = c as u32;
        let wide = matches!(
            cp,
            0x3000..=0x30FF | 0x4E00..=0x9FFF | 0xAC00..=0xD7A3 | 0xFF01..=0xFF5E
        );
        if wide {
            let kana = (0x3040..=0x30FF).contains(&cp);
            // A CJK character glued to a Latin word ("喘erwachung" for "Überwachung") is a
            // misreading of Latin text: Japanese and Chinese put no ideograph right before
            // a Latin letter or right after a lowercase one, nor kana before a lowercase one.
            let glued = if kana {
                next.is_ascii_lowercase()
            } else {
                next.is_ascii_alphabetic() || prev.is_ascii_lowercase()
            };
            if glued {
                score -= 8;
            } else if kana {
                score += 6;
            } else {
                score += 4;
            }
        } else if c.is_alphabetic() && (0x00C0..=0x024F).contains(&cp) {
            let mut s = if common_latin(c) { 3 } else { 1 };
            // An uppercase letter right after a lowercase one ("dÆobtenir") is unlikely.
            if c.is_uppercase() && prev.is_lowercase() {
                s -= 4;
            }
            if !(prev.is_alphabetic() || next.is_alphabetic()) {
                s -= 2;
            }
            score += s;
        } else if c.is_alphabetic() && (0x0400..=0x04FF).contains(&cp) {
            let mut s = 2;
            if c.is_uppercase() && prev.is_lowercase() {
                s -= 4;
            }
            if !(('\u{0400}'..='\u{04FF}').contains(&prev)
                || ('\u{0400}'..='\u{04FF}').contains(&next))
            {
                s -= 2;
            }
            score += s;
        } else if matches!(
            c,
            '’' | '‘' | '“' | '”' | '–' | '—' | '…' | '«' | '»' | '\u{A0}' | '°' | '€'
        ) {
            // Punctuation of running text.
        } else if (0xFF61..=0xFF9F).contains(&cp) {
            // Half-width katakana: consoles print full-width.
            score -= 3;
        } else {
            // Box drawing, math, controls, private use, replacement characters …
            score -= 6;
        }
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8]) -> (String, Encoding) {
        let p = decode(bytes, None);
        assert_eq!(p.len(), 1, "{p:?}");
        (p[0].text.clone(), p[0].encoding)
    }

    #[test]
    fn oem_code_pages_are_not_latin1() {
        // "Überwachungsdienst.exe" as cmd.exe on a German console writes it (CP850).
        let (t, e) = one(b"\x9aberwachungsdienst.exe  1234 Services  0  5.000 K\r\n");
        assert_eq!(t, "Überwachungsdienst.exe  1234 Services  0  5.000 K\r\n");
        assert_eq!(e, Encoding::Cp850);
        let (t, _) = one(b"  TCP    0.0.0.0:135    0.0.0.0:0    ABH\x99REN    956\r\n");
        assert!(t.contains("ABHÖREN"), "{t}");
        // French, CP850: "État", "propriétaire".
        let (t, e) = one(b"  Proto  Adresse locale  Adresse distante  \x90tat\r\n Impossible d'obtenir les informations de propri\x82taire\r\n");
        assert!(t.contains("État") && t.contains("propriétaire"), "{t}");
        assert_eq!(e, Encoding::Cp850);
        // The same French text from an ANSI (Windows-1252) program.
        let (t, e) = one(b"Impossible d\x92obtenir les informations de propri\xe9taire\r\n");
        assert_eq!(
            t,
            "Impossible d’obtenir les informations de propriétaire\r\n"
        );
        assert_eq!(e, Encoding::Windows1252);
    }

    #[test]
    fn japanese_and_chinese_code_pages() {
        let sjis = SHIFT_JIS.encode("アクティブな接続\r\n\r\n  プロトコル  ローカル アドレス      外部アドレス           状態            PID\r\n").0;
        let (t, e) = one(&sjis);
        assert_eq!(e, Encoding::Cp932);
        assert!(t.contains("プロトコル  ローカル アドレス"), "{t}");
        let gbk = GBK
            .encode(
                "活动连接\r\n\r\n  协议  本地地址          外部地址        状态           PID\r\n",
            )
            .0;
        let (t, e) = one(&gbk);
        assert_eq!(e, Encoding::Cp936);
        assert!(t.contains("协议  本地地址"), "{t}");
        // Russian, CP866.
        let (t, e) = one(&[
            0x80, 0xAA, 0xE2, 0xA8, 0xA2, 0xAD, 0xEB, 0xA5, b' ', 0xAF, 0xAE, 0xA4, 0xAA, 0xAB,
            0xEE, 0xE7, 0xA5, 0xAD, 0xA8, 0xEF, b'\r', b'\n',
        ]);
        assert_eq!(t, "Активные подключения\r\n");
        assert_eq!(e, Encoding::Cp866);
    }

    #[test]
    fn utf16_with_or_without_bom_and_mixed_parts() {
        let mut b = vec![0xFF, 0xFE];
        for u in "  TCP    0.0.0.0:135\r\n".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(
            one(&b),
            ("  TCP    0.0.0.0:135\r\n".into(), Encoding::Utf16Le)
        );
        assert_eq!(one(&b[2..]).1, Encoding::Utf16Le);
        // Japanese UTF-16 (units without NUL bytes) then UTF-8 appended.
        let mut b = vec![0xFF, 0xFE];
        for u in "アクティブな接続\r\n  TCP    0.0.0.0:135\r\n".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        b.extend_from_slice("Image Name  PID\r\nÜberwachung.exe  4\r\n".as_bytes());
        let p = decode(&b, None);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].text, "アクティブな接続\r\n  TCP    0.0.0.0:135\r\n");
        assert_eq!(p[0].encoding, Encoding::Utf16Le);
        assert_eq!(p[1].text, "Image Name  PID\r\nÜberwachung.exe  4\r\n");
        assert_eq!(p[1].encoding, Encoding::Utf8);
        // 8-bit first, UTF-16 appended (cmd `>` then PowerShell `>>`).
        let mut b = b"Image Name  PID\r\n".to_vec();
        for u in "  TCP    0.0.0.0:135\r\n".encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        let p = decode(&b, None);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].text, "Image Name  PID\r\n");
        assert_eq!(p[1].text, "  TCP    0.0.0.0:135\r\n");
    }

    #[test]
    fn forced_encodings() {
        let (t, _) = (
            decode(b"\x9aber", Some(Encoding::Windows1252))[0]
                .text
                .clone(),
            0,
        );
        assert_eq!(t, "šber");
        assert_eq!(decode(b"\x9aber", Some(Encoding::Cp437))[0].text, "Über");
        assert_eq!(Encoding::from_name("Shift_JIS"), Some(Encoding::Cp932));
        assert_eq!(Encoding::from_name("cp850"), Some(Encoding::Cp850));
        assert_eq!(Encoding::from_name("klingon"), None);
    }
}
