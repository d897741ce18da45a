//! SPEC §5e measures with `wrk -t1 -c8` on loopback: a load generator in
//! its own process, written in C, so that the server's two cores are not
//! also running a Rust HTTP client. When `wrk` is installed (the test
//! script's `apt-get install wrk`, or by hand) the benchmark drives each
//! variant with it; otherwise with the in-process hyper client, and says so.

use std::process::Command;

/// What one `wrk` run measured.
pub struct WrkRun {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Answers that were not 2xx/3xx, and socket errors: either fails the run.
    pub failures: String,
}

/// Whether `wrk` can be run here.
pub fn available() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

/// `wrk -t1 -c{conns} -d{secs}s --latency` against `url`, signed in with
/// `token` as both the bearer token and the session cookie.
pub fn run(url: &str, token: &str, conns: usize, secs: f64) -> WrkRun {
    let out = Command::new("wrk")
        .args(["-t1", &format!("-c{conns}"), &format!("-d{}s", secs.ceil() as u64), "--latency"])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .args(["-H", &format!("Cookie: tracker_session={token}")])
        .arg(url)
        .output()
        .expect("wrk runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    parse(&text).unwrap_or_else(|| panic!("cannot read wrk's report:\n{text}"))
}

/// Reads wrk's report: `Requests/sec:`, the `50%` and `99%` lines of its
/// latency distribution, and any `Non-2xx or 3xx responses:` or `Socket
/// errors:` line.
pub fn parse(report: &str) -> Option<WrkRun> {
    let mut rps = None;
    let (mut p50, mut p99) = (None, None);
    let mut failures = Vec::new();
    for line in report.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            rps = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("50%") {
            p50 = millis(v.trim());
        } else if let Some(v) = line.strip_prefix("99%") {
            p99 = millis(v.trim());
        } else if line.starts_with("Non-2xx or 3xx responses:") || line.starts_with("Socket errors:") {
            failures.push(line.to_owned());
        }
    }
    Some(WrkRun {
        rps: rps?,
        p50_ms: p50?,
        p99_ms: p99?,
        failures: failures.join("; "),
    })
}

/// wrk's durations: `850.00us`, `1.23ms`, `1.02s`, `2.00m`.
fn millis(v: &str) -> Option<f64> {
    let split = v.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}
