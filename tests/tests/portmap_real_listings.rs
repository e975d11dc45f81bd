//! portmap on the real output of the Linux commands it reads: `ss -ltnp`, `ss -tanp`,
//! `ss -lntup`, `ss -anp`, `ss -ltnpH`, `netstat -tlnp`, `netstat -tanp`, `netstat -lntup`,
//! `netstat -tulpenoW`, `netstat -anp`, `lsof -iTCP -sTCP:LISTEN -nP` and `lsof -i -nP`, run in
//! a network namespace this test creates (root needed; reported `SKIPPED:` otherwise, a failure
//! under TCPWHY_REQUIRE_CORPUS=1) around python3 listeners it starts:
//!
//! - `msmdsrv` (a python3 renamed with prctl, as the seed's Analysis Services) on 0.0.0.0:2725
//!   with one accepted connection from 10.77.0.6, on 127.0.0.1:5432 and on 10.77.0.5:1433;
//!   dual-stack [::]:8080; UDP 0.0.0.0:1434.
//!
//! Then the listener records are checked against docs/schema.md's `listener` section, and
//! findings are enriched from each listing: the seed's hint, loopback only, wrong address.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use tcpwhy_tests::{netns_add, output_ok, root, run_ok};

const SERVER: &str = r#"
import ctypes, socket, sys
ctypes.CDLL(None).prctl(15, b"msmdsrv", 0, 0, 0)
keep = []
def listen(fam, addr, port):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind((addr, port)); s.listen(16); keep.append(s); return s
ssas = listen(socket.AF_INET, "0.0.0.0", 2725)
listen(socket.AF_INET, "127.0.0.1", 5432)
listen(socket.AF_INET, "10.77.0.5", 1433)
listen(socket.AF_INET6, "::", 8080)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 1434)); keep.append(u)
c = socket.socket(); c.bind(("10.77.0.6", 0)); c.connect(("10.77.0.5", 2725)); keep.append(c)
a, _ = ssas.accept(); keep.append(a)
print("ready", flush=True)
sys.stdin.read()
"#;

/// A network namespace with a veth pair (10.77.0.5 and 10.77.0.6) and the python3 server,
/// removed on drop even when an assertion fails.
struct Lab {
    ns: String,
    child: Option<Child>,
}

impl Lab {
    fn start() -> Option<Lab> {
        // Root and namespaces, and every command whose output is read (a skip is reported,
        // a failure under TCPWHY_REQUIRE_CORPUS=1).
        if !tcpwhy_tests::need_netns()
            || !tcpwhy_tests::need_tool("python3", "python3")
            || !tcpwhy_tests::need_tool("netstat", "net-tools")
            || !tcpwhy_tests::need_tool("lsof", "lsof")
            || !tcpwhy_tests::need_tool("ss", "iproute2")
        {
            return None;
        }
        let ns = format!("pmreal{}", std::process::id());
        assert!(netns_add(&ns), "ip netns add {ns}");
        let mut lab = Lab { ns, child: None };
        for cmd in [
            "ip link set lo up",
            "ip link add pma type veth peer name pmb",
            "ip addr add 10.77.0.5/24 dev pma",
            "ip addr add 10.77.0.6/24 dev pmb",
            "ip link set pma up",
            "ip link set pmb up",
        ] {
            lab.exec_ok(cmd);
        }
        let mut child = Command::new("ip")
            .args(["netns", "exec", &lab.ns, "python3", "-c", SERVER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        lab.child = Some(child);
        assert_eq!(line.trim(), "ready", "the python3 listeners did not start");
        Some(lab)
    }

    fn pid(&self) -> u32 {
        // `ip netns exec` execs python3: same PID.
        self.child.as_ref().unwrap().id()
    }

    fn exec(&self, cmd: &str) -> String {
        let out = output_ok(Command::new("ip").args(["netns", "exec", &self.ns, "sh", "-c", cmd]));
        String::from_utf8(out.stdout).unwrap()
    }

    fn exec_ok(&self, cmd: &str) {
        self.exec(cmd);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            drop(c.stdin.take());
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

fn portmap(args: &[&str], stdin: &str) -> Vec<Value> {
    let mut all = vec!["--no-etc-services"];
    all.extend_from_slice(args);
    run_ok("portmap", &all, stdin.as_bytes())
}

/// The field names of docs/schema.md's `listener` section (listener and `portmap.*` tables).
fn documented() -> Vec<String> {
    let md = std::fs::read_to_string(root().join("docs/schema.md")).unwrap();
    let sec = md
        .split("\n## `listener`")
        .nth(1)
        .expect("a listener section")
        .split("\n## ")
        .next()
        .unwrap();
    let mut v = vec![];
    for l in sec.lines().filter(|l| l.starts_with("| `")) {
        let first = l.trim_matches('|').split('|').next().unwrap();
        v.extend(first.split('`').skip(1).step_by(2).map(str::to_string));
    }
    v
}

fn finding(client: &str, server: &str, port: u16) -> String {
    json!({"type":"finding","kind":"refused","severity":"error","uids":["C1"],"client_ip":client,
           "client_port":40000,"server_ip":server,"server_port":port,"frames":[1],"ts":1.0,
           "summary":"s","socket_error":null,"next_step":"n","evidence":{}})
    .to_string()
        + "\n"
}

#[test]
fn real_ss_netstat_and_lsof_output() {
    let Some(lab) = Lab::start() else { return };
    let pid = lab.pid() as u64;
    let dir = tempfile::tempdir().unwrap();
    let docs = documented();
    // (command, format name, process name shown, lists UDP)
    let cases = [
        ("ss -ltnp", "ss", "msmdsrv", false),
        ("ss -tanp", "ss", "msmdsrv", false),
        ("ss -lntup", "ss", "msmdsrv", true),
        ("netstat -tlnp", "netstat-linux", "python3", false),
        ("netstat -tanp", "netstat-linux", "python3", false),
        ("netstat -lntup", "netstat-linux", "python3", true),
        ("netstat -tulpenoW", "netstat-linux", "python3", true),
        ("netstat -anp", "netstat-linux", "python3", true),
        ("ss -anp", "ss", "msmdsrv", true),
        ("ss -ltnpH", "ss", "msmdsrv", false),
        (
            &format!("lsof -a -p {pid} -iTCP -sTCP:LISTEN -nP"),
            "lsof",
            "msmdsrv",
            false,
        ),
        (&format!("lsof -a -p {pid} -i -nP"), "lsof", "msmdsrv", true),
    ];
    for (cmd, format, process, udp) in cases {
        let text = lab.exec(cmd);
        let file = dir.path().join(format!("{}.txt", cmd.replace(' ', "_")));
        std::fs::write(&file, &text).unwrap();
        let f = file.to_str().unwrap();
        let recs = portmap(&["--list", "-l", f], "");
        let find = |proto: &str, addr: &str, port: u64| {
            recs.iter()
                .find(|r| r["proto"] == proto && r["address"] == addr && r["port"] == port)
                .unwrap_or_else(|| panic!("{cmd}: no {proto} {addr}:{port} in\n{text}\n{recs:#?}"))
        };
        for (addr, port) in [("0.0.0.0", 2725), ("127.0.0.1", 5432), ("10.77.0.5", 1433)] {
            let r = find("tcp", addr, port);
            assert_eq!(r["pid"], pid, "{cmd}");
            assert_eq!(r["process"], process, "{cmd}");
            assert_eq!(r["source"], format, "{cmd}");
            assert_eq!(r["state"], "LISTEN", "{cmd}");
            assert_eq!(
                r["host"], "10.77.0.5",
                "{cmd}: host inferred from the bound address"
            );
        }
        // The dual-stack socket: ss prints `*`, netstat `::`, lsof `*` with TYPE IPv6.
        let v6 = if format == "ss" { "*" } else { "::" };
        assert_eq!(find("tcp", v6, 8080)["pid"], pid, "{cmd}");
        let n_udp = recs.iter().filter(|r| r["proto"] == "udp").count();
        if udp {
            assert_eq!(find("udp", "0.0.0.0", 1434)["state"], "UNCONN", "{cmd}");
        } else {
            assert_eq!(n_udp, 0, "{cmd}");
        }
        assert_eq!(recs.len(), 4 + usize::from(udp), "{cmd}: {recs:#?}");
        // The accepted connection on 2725 is not another listener.
        assert!(recs.iter().all(|r| r["inferred"] == false), "{cmd}");
        for r in &recs {
            let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
            assert_eq!(keys[0], "type");
            for k in keys {
                assert!(
                    docs.contains(k),
                    "{cmd}: `{k}` is not documented in docs/schema.md"
                );
            }
        }

        // The seed's conclusion from each listing.
        let out = portmap(&["-l", f], &finding("10.77.0.6", "10.77.0.5", 2383));
        let pm = &out[0]["portmap"];
        assert_eq!(pm["matched_by"], "address", "{cmd}");
        assert_eq!(
            pm["hint"],
            format!(
                "nothing listens on 2383 (SSAS 2005+); {process} PID {pid} listens on 2725 (SSAS 2000 default)"
            ),
            "{cmd}"
        );
        for k in pm.as_object().unwrap().keys() {
            assert!(
                docs.contains(&format!("portmap.{k}")),
                "{cmd}: `portmap.{k}` is not documented"
            );
        }
        // Loopback only, seen from another host; and bound to the other address (both
        // addresses are the host's: say so, `ss -l` shows only 10.77.0.5).
        let out = portmap(
            &["-l", f, "--host", "10.77.0.5", "--host", "10.77.0.6"],
            &(finding("10.77.0.6", "10.77.0.5", 5432) + &finding("10.77.0.5", "10.77.0.6", 1433)),
        );
        assert_eq!(
            out[0]["portmap"]["hint"],
            format!(
                "{process} PID {pid} listens on 5432 (PostgreSQL) on loopback only (127.0.0.1:5432): connections from 10.77.0.6 cannot reach it"
            ),
            "{cmd}"
        );
        assert_eq!(
            out[1]["portmap"]["hint"],
            format!(
                "{process} PID {pid} listens on 1433 (SQL Server) only on 10.77.0.5:1433, not on 10.77.0.6"
            ),
            "{cmd}"
        );
    }
}
