//! The HTML status page and the human forms of its figures.

use std::fmt::Write as _;

use gousse_router::Status;

use crate::server::REFRESH_SECONDS;

/// Bytes in IEC units with one decimal: `0 B`, `1023 B`, `1.5 KiB`, `3.2 GiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // u64 -> f64 loses precision only far below what one decimal shows.
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for next in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

/// A duration in seconds as a person reads it, keeping the two largest units:
/// `42 s`, `3 min 12 s`, `2 h 5 min`, `3 d 4 h`.
pub fn human_duration(seconds: u64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3_600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    }
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn network_name(net_id: u8) -> String {
    if net_id == gousse_router::config::MAIN_NET_ID {
        format!("{net_id} (I2P network)")
    } else {
        format!("{net_id} (private network)")
    }
}

const STYLE: &str = "
:root { color-scheme: light dark; --fg: #1d2330; --muted: #5f6b7a; --bg: #f4f5f7;
  --card: #fff; --line: #e2e5ea; --accent: #3d6b4f; }
@media (prefers-color-scheme: dark) { :root { --fg: #e3e6ea; --muted: #98a2ae;
  --bg: #15181d; --card: #1e2228; --line: #2d333b; --accent: #7fb893; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 28px 20px 40px; }
header { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap;
  margin-bottom: 20px; }
h1 { font-size: 26px; margin: 0; color: var(--accent); letter-spacing: .5px; }
.sub { color: var(--muted); }
.badge { display: inline-block; padding: 1px 9px; border-radius: 10px; font-size: 13px;
  border: 1px solid var(--accent); color: var(--accent); }
.badge.off { border-color: var(--line); color: var(--muted); }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr));
  gap: 14px; margin-bottom: 14px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 16px; }
.label { color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .6px; }
.value { font-size: 22px; font-weight: 600; margin-top: 2px; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
.pair { color: var(--muted); font-size: 13px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 7px 0; border-top: 1px solid var(--line);
  vertical-align: top; }
tr:first-child th, tr:first-child td { border-top: 0; }
th { color: var(--muted); font-weight: normal; width: 36%; max-width: 220px;
  padding-right: 12px; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  word-break: break-all; }
footer { margin-top: 18px; color: var(--muted); font-size: 13px; }
a { color: var(--accent); }
";

/// Renders the console's HTML page for one status snapshot. Every value is escaped;
/// the page has no scripts and reloads itself every few seconds.
pub fn render_page(status: &Status) -> String {
    let mut page = String::with_capacity(6 * 1024);
    let version = escape(&status.version);
    let floodfill_badge = if status.floodfill {
        r#"<span class="badge">floodfill</span>"#
    } else {
        r#"<span class="badge off">not floodfill</span>"#
    };
    let address = match &status.ntcp2_address {
        Some(addr) => format!("<code>{}</code>", escape(addr)),
        None => r#"<span class="sub">not published</span>"#.to_owned(),
    };
    let hash = if status.router_hash.is_empty() {
        r#"<span class="sub">not yet known</span>"#.to_owned()
    } else {
        format!("<code>{}</code>", escape(&status.router_hash))
    };

    // Writing into a String cannot fail.
    let _ = write!(
        page,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="{refresh}">
<title>Gousse {version}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<header>
<h1>Gousse</h1>
<span class="sub">I2P router {version}</span>
{floodfill_badge}
</header>
<section class="grid">
<div class="card"><div class="label">Uptime</div><div class="value">{uptime}</div></div>
<div class="card"><div class="label">Known routers</div><div class="value">{routers}</div><div class="pair">{floodfills} floodfills</div></div>
<div class="card"><div class="label">Sessions</div><div class="value">{sessions}</div><div class="pair">{inbound} in &middot; {outbound} out</div></div>
<div class="card"><div class="label">Sent</div><div class="value">{sent}</div><div class="pair">since start</div></div>
<div class="card"><div class="label">Received</div><div class="value">{received}</div><div class="pair">since start</div></div>
</section>
<section class="card">
<table>
<tr><th>Router hash</th><td>{hash}</td></tr>
<tr><th>Network</th><td>{network}</td></tr>
<tr><th>NTCP2 address</th><td>{address}</td></tr>
<tr><th>Floodfill</th><td>{floodfill}</td></tr>
<tr><th>Sessions in / out</th><td>{inbound} / {outbound}</td></tr>
<tr><th>Bytes sent / received</th><td>{sent} / {received}</td></tr>
<tr><th>RouterInfo stores confirmed</th><td>{stores}</td></tr>
</table>
</section>
<footer>Refreshes every {refresh} s &middot; JSON: <a href="/api/status">/api/status</a></footer>
</main>
</body>
</html>
"#,
        refresh = REFRESH_SECONDS,
        uptime = escape(&human_duration(status.uptime_s)),
        routers = status.known_routers,
        floodfills = status.known_floodfills,
        sessions = status
            .active_sessions
            .inbound
            .saturating_add(status.active_sessions.outbound),
        inbound = status.active_sessions.inbound,
        outbound = status.active_sessions.outbound,
        sent = human_bytes(status.bytes_sent),
        received = human_bytes(status.bytes_received),
        network = network_name(status.net_id),
        floodfill = if status.floodfill { "yes" } else { "no" },
        stores = status.router_info_stores_confirmed,
    );
    page
}

#[cfg(test)]
mod test {
    use super::*;
    use gousse_router::status::SessionCounts;

    #[test]
    fn bytes_in_human_units() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 + 300 * 1024), "5.3 MiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
        assert_eq!(human_bytes(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn durations_in_human_form() {
        assert_eq!(human_duration(0), "0 s");
        assert_eq!(human_duration(59), "59 s");
        assert_eq!(human_duration(192), "3 min 12 s");
        assert_eq!(human_duration(2 * 3600 + 5 * 60 + 9), "2 h 5 min");
        assert_eq!(human_duration(3 * 86_400 + 4 * 3600 + 59), "3 d 4 h");
        assert!(human_duration(u64::MAX).ends_with(" h"));
    }

    #[test]
    fn page_escapes_every_string() {
        let status = Status {
            version: "<script>alert(1)</script>".into(),
            router_hash: "a\"b'c&d".into(),
            ntcp2_address: Some("<img src=x>".into()),
            ..Status::default()
        };
        let page = render_page(&status);
        assert!(!page.contains("<script>"));
        assert!(!page.contains("<img"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("a&quot;b&#39;c&amp;d"));
        assert!(page.contains("&lt;img src=x&gt;"));
    }

    #[test]
    fn page_shows_the_figures() {
        let status = Status {
            version: "0.1.0".into(),
            net_id: 2,
            router_hash: "AbCd~-Hash=".into(),
            uptime_s: 3725,
            known_routers: 1234,
            known_floodfills: 56,
            active_sessions: SessionCounts {
                inbound: 7,
                outbound: 9,
            },
            bytes_sent: 2048,
            bytes_received: 3 << 20,
            ntcp2_address: Some("203.0.113.5:12345".into()),
            floodfill: true,
            router_info_stores_confirmed: 4,
        };
        let page = render_page(&status);
        for needle in [
            "AbCd~-Hash=",
            "0.1.0",
            "2 (I2P network)",
            "1 h 2 min",
            "1234",
            "56 floodfills",
            "7 / 9",
            "2.0 KiB",
            "3.0 MiB",
            "203.0.113.5:12345",
            "<td>yes</td>",
            "http-equiv=\"refresh\"",
        ] {
            assert!(page.contains(needle), "page lacks {needle:?}");
        }
        assert!(
            !page.contains("<script"),
            "page must work without JavaScript"
        );
    }

    #[test]
    fn page_for_a_fresh_router() {
        let page = render_page(&Status {
            net_id: 99,
            ..Status::default()
        });
        assert!(page.contains("not published"));
        assert!(page.contains("not yet known"));
        assert!(page.contains("99 (private network)"));
        assert!(page.contains("<td>no</td>"));
    }
}
