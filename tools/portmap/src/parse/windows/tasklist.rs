//! Windows `tasklist`: the default table (also `/svc`, `/v`), `/FO CSV` and `/FO LIST`.

use super::{csv_fields, parse_pid};
use crate::parse::{Ctx, Listing, Process};

/// Column spans of a fixed-width table from its underline (`=====  ====` or `-----  ----`).
fn spans(underline: &str) -> Vec<(usize, usize)> {
    let chars: Vec<char> = underline.chars().collect();
    let mut v = vec![];
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == ' ' {
            i += 1;
            continue;
        }
        let s = i;
        while i < chars.len() && chars[i] != ' ' {
            i += 1;
        }
        v.push((s, i));
    }
    v
}

/// A line as console columns: a full-width character (kana, CJK, Hangul, full-width forms)
/// takes two, so it is followed by a NUL placeholder. A Japanese or Chinese console pads
/// tasklist's columns by display width ("監視サービス.exe" is 16 columns wide, 10 characters).
fn console_columns(line: &str) -> Vec<char> {
    let mut v = Vec::with_capacity(line.len());
    for c in line.chars() {
        v.push(c);
        if matches!(c as u32, 0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6)
        {
            v.push('\0');
        }
    }
    v
}

fn cut(line: &[char], (s, e): (usize, usize), last: bool) -> String {
    if s >= line.len() {
        return String::new();
    }
    let e = if last { line.len() } else { e.min(line.len()) };
    line[s..e]
        .iter()
        .filter(|&&c| c != '\0')
        .collect::<String>()
        .trim()
        .to_string()
}

/// The services of a `/svc` column: comma-separated, "N/A" for none.
fn service_names(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "N/A")
        .map(str::to_string)
}

/// Where a fixed-width table's columns are.
struct Columns {
    spans: Vec<(usize, usize)>,
    pid: usize,
    services: Option<usize>,
}

/// `tasklist` (default table, `/svc`, `/v`); the columns come from the `====` underline, so
/// image names with spaces ("System Idle Process") and localized headers work. The image is
/// the first column, the PID the column headed "PID" (else the second).
pub fn tasklist_table(ctx: &Ctx, text: &str, out: &mut Listing) -> anyhow::Result<()> {
    let mut header: Option<String> = None;
    let mut cols: Option<Columns> = None;
    for (no, raw) in ctx.nonblank_lines(text) {
        if cols.is_none() {
            let t = raw.trim();
            if t.starts_with('=') {
                let sp = spans(raw);
                if sp.len() < 2 {
                    return Err(ctx.err(no, "tasklist underline has fewer than 2 columns"));
                }
                let hdr = console_columns(header.as_deref().unwrap_or_default());
                let names: Vec<String> = sp
                    .iter()
                    .enumerate()
                    .map(|(i, s)| cut(&hdr, *s, i + 1 == sp.len()))
                    .collect();
                let pid = names.iter().position(|n| n == "PID").unwrap_or(1);
                let svc = names.iter().position(|n| n == "Services" || n == "Dienste");
                cols = Some(Columns {
                    spans: sp,
                    pid,
                    services: svc,
                });
            } else {
                header = Some(raw.to_string());
            }
            continue;
        }
        let Some(Columns {
            spans: sp,
            pid: pidc,
            services: svcc,
        }) = &cols
        else {
            unreachable!("set when the underline was read")
        };
        let chars = console_columns(raw);
        let get = |i: usize| cut(&chars, sp[i], i + 1 == sp.len());
        let image = get(0);
        let pid_s = get(*pidc);
        if image.is_empty() && pid_s.is_empty() {
            // tasklist /svc continues a long service list on the next line.
            if let (Some(c), Some(p)) = (svcc, out.processes.last_mut()) {
                p.services.extend(
                    get(*c)
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                );
                continue;
            }
        }
        let pid = parse_pid(&pid_s).ok_or_else(|| {
            ctx.err(
                no,
                format!(
                    "bad PID {pid_s:?} in tasklist row (columns from the ==== line): {:?}",
                    raw.trim()
                ),
            )
        })?;
        let services = match svcc {
            Some(c) => service_names(&get(*c)).collect(),
            None => vec![],
        };
        out.processes.push(Process {
            pid,
            name: image,
            services,
        });
    }
    if cols.is_none() {
        return Err(ctx.err(1, "no ==== line under the tasklist header"));
    }
    Ok(())
}

/// `tasklist /FO CSV` (header row unless `/NH`).
pub fn tasklist_csv(ctx: &Ctx, text: &str, out: &mut Listing) -> anyhow::Result<()> {
    let mut pid_col: Option<usize> = None;
    let mut svc_col: Option<usize> = None;
    for (no, raw) in ctx.nonblank_lines(text) {
        let rec = csv_fields(ctx, no, raw)?;
        if pid_col.is_none() {
            if let Some(i) = rec.iter().position(|f| f == "PID") {
                pid_col = Some(i);
                svc_col = rec.iter().position(|f| f == "Services");
                continue;
            }
            pid_col = Some(1);
        }
        let pc = pid_col.unwrap_or(1);
        let pid_s = rec.get(pc).map(String::as_str).unwrap_or("");
        let pid = parse_pid(pid_s)
            .ok_or_else(|| ctx.err(no, format!("bad PID {pid_s:?} in tasklist CSV row")))?;
        let services = svc_col
            .and_then(|c| rec.get(c))
            .map(|s| service_names(s).collect())
            .unwrap_or_default();
        out.processes.push(Process {
            pid,
            name: rec.first().cloned().unwrap_or_default(),
            services,
        });
    }
    Ok(())
}

/// `tasklist /FO LIST`: blocks of `Key: value` lines separated by blank lines; the first key of
/// a block is the image name, `PID` the process id.
pub fn tasklist_list(ctx: &Ctx, text: &str, out: &mut Listing) -> anyhow::Result<()> {
    let mut name: Option<(u64, String)> = None;
    let mut pid: Option<u32> = None;
    let mut services: Vec<String> = vec![];
    let flush = |name: &mut Option<(u64, String)>,
                 pid: &mut Option<u32>,
                 services: &mut Vec<String>,
                 out: &mut Listing|
     -> anyhow::Result<()> {
        if let Some((no, n)) = name.take() {
            let p = pid
                .take()
                .ok_or_else(|| ctx.err(no, format!("process {n:?} has no PID line")))?;
            out.processes.push(Process {
                pid: p,
                name: n,
                services: std::mem::take(services),
            });
        }
        Ok(())
    };
    for (no, raw) in ctx.lines(text) {
        let t = raw.trim();
        if t.is_empty() {
            flush(&mut name, &mut pid, &mut services, out)?;
            continue;
        }
        let Some((k, v)) = t.split_once(':') else {
            // A /svc list continues on the next line without a key.
            if name.is_some() && raw.starts_with(' ') {
                services.push(t.to_string());
                continue;
            }
            return Err(ctx.err(
                no,
                format!("expected \"Key: value\" (tasklist /FO LIST), found {t:?}"),
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        if k == "PID" {
            pid = Some(parse_pid(v).ok_or_else(|| ctx.err(no, format!("bad PID {v:?}")))?);
        } else if k == "Services" {
            services.extend(service_names(v));
        } else if name.is_none() {
            name = Some((no, v.to_string()));
        }
    }
    flush(&mut name, &mut pid, &mut services, out)?;
    Ok(())
}
