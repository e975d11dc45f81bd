//! Windows listings: `netstat -ano` / `-anob` / `-b`, `tasklist` (table, CSV, LIST), PowerShell
//! `Get-NetTCPConnection` (console table and `Export-Csv`); a file per command, and here what
//! they share.

use super::Ctx;

mod netstat;
mod nettcp;
mod tasklist;

pub(crate) use netstat::is_netstat_row;
pub use netstat::netstat;
pub use nettcp::{nettcp_csv, nettcp_table};
pub use tasklist::{tasklist_csv, tasklist_list, tasklist_table};

fn parse_pid(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

/// One CSV line's fields (tasklist and Export-Csv never break a row across lines, so line
/// numbers stay exact).
fn csv_fields(ctx: &Ctx, no: u64, line: &str) -> anyhow::Result<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(line.as_bytes());
    match rdr.records().next() {
        Some(Ok(r)) => Ok(r.iter().map(str::to_string).collect()),
        Some(Err(e)) => Err(ctx.err(no, format!("bad CSV: {e}"))),
        None => Ok(vec![]),
    }
}
