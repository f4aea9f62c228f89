//! The HTML status page and the human forms of its figures.

use std::fmt::Write as _;

use gousse_router::{Status, TunnelInfo};

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
pub(crate) fn escape(text: &str) -> String {
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

pub(crate) const STYLE: &str = "
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
h2 { font-size: 15px; line-height: 22px; margin: 0 0 8px; color: var(--muted);
  font-weight: 600; text-transform: uppercase; letter-spacing: .6px; }
h2 .badge { font-size: 11px; line-height: 18px; margin-left: 6px; vertical-align: 1px; }
section.card + .grid { margin-top: 14px; }
.cols th { width: 58%; }
.cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr));
  gap: 14px; margin-top: 14px; }
.cols + section.card { margin-top: 14px; }
table.list th { width: auto; border-top: 0; font-size: 12px; text-transform: uppercase;
  letter-spacing: .6px; padding-right: 12px; }
table.list td { padding-right: 12px; font-variant-numeric: tabular-nums; }
table.list tr:first-child td { border-top: 1px solid var(--line); }
.hops code { white-space: nowrap; }
.arrow { color: var(--muted); padding: 0 3px; }
.empty { color: var(--muted); }
.scroll { overflow-x: auto; }
footer { margin-top: 18px; color: var(--muted); font-size: 13px; }
a { color: var(--accent); }
nav { margin-left: auto; display: flex; gap: 16px; }
nav a { text-decoration: none; }
nav a.here { color: var(--fg); font-weight: 600; }
form.row { display: flex; gap: 8px; flex-wrap: wrap; align-items: center; }
form.stack { display: grid; gap: 8px; }
input, textarea, button { font: inherit; color: var(--fg); background: var(--bg);
  border: 1px solid var(--line); border-radius: 6px; padding: 6px 9px; }
input[type=search] { flex: 1; min-width: 200px; }
textarea { width: 100%; resize: vertical;
  font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
button { background: var(--accent); color: var(--card); border-color: var(--accent);
  cursor: pointer; justify-self: start; }
.notice { padding: 10px 14px; border-radius: 8px; margin: 0 0 14px; word-break: break-word;
  border: 1px solid var(--accent); background: var(--card); }
.notice.err { border-color: #c0392b; color: #c0392b; }
section.card + section.card { margin-top: 14px; }
";

/// The page a navigation link leads to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Here {
    /// `/`, the status page.
    Status,
    /// `/hosts`, the address book.
    Hosts,
}

/// The navigation links of the header; empty when there is only the status page.
pub(crate) fn nav(here: Here, hosts: bool) -> String {
    if !hosts {
        return String::new();
    }
    let class = |page: Here| if page == here { r#" class="here""# } else { "" };
    format!(
        r#"<nav><a href="/"{}>Status</a><a href="/hosts"{}>Address book</a></nav>"#,
        class(Here::Status),
        class(Here::Hosts),
    )
}

/// Renders the console's HTML page for one status snapshot. Every value is escaped;
/// the page has no scripts and reloads itself every few seconds.
pub fn render_page(status: &Status) -> String {
    render_status_page(status, false)
}

/// [`render_page`], with a link to the address book when `hosts_link`.
pub(crate) fn render_status_page(status: &Status, hosts_link: bool) -> String {
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
{nav}
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
{tunnel_sections}
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
        tunnel_sections = tunnel_sections(status),
        nav = nav(Here::Status, hosts_link),
    );
    page
}

/// Most rows of the tunnel table; the rest are counted below it.
const MAX_TUNNEL_ROWS: usize = 100;
/// Characters of a router hash shown per hop.
const HOP_PREFIX: usize = 6;

/// The tunnel figures, the transit section and the table of our tunnels.
fn tunnel_sections(status: &Status) -> String {
    let t = &status.tunnels;
    let ours = t
        .exploratory_inbound
        .saturating_add(t.exploratory_outbound)
        .saturating_add(t.client_inbound)
        .saturating_add(t.client_outbound);
    let success = match status.tunnel_build_success_pct {
        Some(pct) => format!("{pct} %"),
        None => "&ndash;".to_owned(),
    };
    let limits = &status.transit_limits;
    let accepting = if limits.accept {
        r#"<span class="badge">accepting</span>"#
    } else {
        r#"<span class="badge off">not accepting</span>"#
    };
    let netdb_route = if status.netdb_through_tunnels {
        "through tunnels"
    } else {
        "direct (no tunnels yet)"
    };
    let mut out = String::with_capacity(4 * 1024);
    let _ = write!(
        out,
        r#"<section class="grid">
<div class="card"><div class="label">Our tunnels</div><div class="value">{ours}</div><div class="pair">{inb} in &middot; {outb} out</div></div>
<div class="card"><div class="label">Build success</div><div class="value">{success}</div><div class="pair">{ok} ok &middot; {failed} failed, 10 min</div></div>
<div class="card"><div class="label">Transit tunnels</div><div class="value">{transit}</div><div class="pair">of at most {max}</div></div>
<div class="card"><div class="label">Transit relayed</div><div class="value">{relayed}</div><div class="pair">since start</div></div>
</section>
<div class="cols">
<section class="card">
<h2>Tunnels</h2>
<table>
<tr><th>Exploratory in / out</th><td>{ei} / {eo}</td></tr>
<tr><th>Client in / out</th><td>{ci} / {co}</td></tr>
<tr><th>Builds, last 10 min</th><td>{success} ({ok} ok, {failed} failed)</td></tr>
<tr><th>Tests passed / failed</th><td>{tests_ok} / {tests_failed}</td></tr>
<tr><th>netDb traffic</th><td>{netdb_route}</td></tr>
<tr><th>netDb messages, tunnels / direct</th><td>{via} / {direct}</td></tr>
</table>
</section>
<section class="card">
<h2>Transit {accepting}</h2>
<table>
<tr><th>Transit tunnels</th><td>{transit} (at most {max})</td></tr>
<tr><th>Bytes relayed</th><td>{relayed}</td></tr>
<tr><th>Requests rejected</th><td>{rejected}</td></tr>
<tr><th>Dropped by the share</th><td>{dropped} messages</td></tr>
<tr><th>Build requests dropped</th><td>{req_dropped} ({replayed} replays)</td></tr>
<tr><th>Tunnel messages dropped</th><td>{msg_dropped}</td></tr>
<tr><th>Reassembly buffers</th><td>{reassembly}</td></tr>
<tr><th>Bandwidth share</th><td>{share} KB/s each way</td></tr>
<tr><th>New transit tunnels</th><td>{accept_text}</td></tr>
</table>
</section>
</div>
<section class="card">
<h2>Our tunnels</h2>
"#,
        inb = t.exploratory_inbound.saturating_add(t.client_inbound),
        outb = t.exploratory_outbound.saturating_add(t.client_outbound),
        ok = status.tunnel_builds_ok,
        failed = status.tunnel_builds_failed,
        transit = status.transit_tunnels,
        max = limits.max_tunnels,
        relayed = human_bytes(status.transit_bytes),
        ei = t.exploratory_inbound,
        eo = t.exploratory_outbound,
        ci = t.client_inbound,
        co = t.client_outbound,
        via = status.netdb_messages_through_tunnels,
        direct = status.netdb_messages_direct,
        rejected = status.transit_rejected,
        dropped = status.transit_dropped,
        tests_ok = status.tunnel_tests_ok,
        tests_failed = status.tunnel_tests_failed,
        req_dropped = status.build_requests_dropped,
        replayed = status.build_requests_replayed,
        msg_dropped = status.tunnel_messages_dropped,
        reassembly = human_bytes(u64::try_from(status.reassembly_bytes).unwrap_or(u64::MAX)),
        share = limits.share_bytes_per_s / 1024,
        accept_text = if limits.accept {
            "accepted"
        } else {
            "refused; existing ones drain until they expire"
        },
    );
    if status.tunnel_list.is_empty() {
        out.push_str("<p class=\"empty\">No tunnels yet.</p>\n");
    } else {
        out.push_str(
            "<div class=\"scroll\"><table class=\"list\">\n<tr><th>Direction</th><th>Pool</th><th>Hops (gateway first)</th><th>Expires in</th></tr>\n",
        );
        for tunnel in status.tunnel_list.iter().take(MAX_TUNNEL_ROWS) {
            tunnel_row(&mut out, tunnel);
        }
        out.push_str("</table></div>\n");
        let hidden = status.tunnel_list.len().saturating_sub(MAX_TUNNEL_ROWS);
        if hidden > 0 {
            let _ = writeln!(out, "<p class=\"empty\">and {hidden} more</p>");
        }
    }
    out.push_str("</section>");
    destinations_section(&mut out, &status.destinations);
    out
}

/// The local destinations (client and server tunnels, SAM sessions, the proxies'
/// destination) with their addresses: what people give out to reach a site.
fn destinations_section(out: &mut String, dests: &[gousse_router::DestinationStatus]) {
    out.push_str("\n<section class=\"card\">\n<h2>Local destinations</h2>\n");
    if dests.is_empty() {
        out.push_str("<p class=\"empty\">None.</p>\n</section>");
        return;
    }
    out.push_str(
        "<div class=\"scroll\"><table class=\"list\">\n<tr><th>Name</th><th>Address</th><th>Tunnels in / out</th><th>LeaseSet</th></tr>\n",
    );
    for d in dests.iter().take(MAX_TUNNEL_ROWS) {
        let address = match &d.b33 {
            Some(b33) => format!(
                "<code>{}</code><div class=\"sub\">encrypted LeaseSet, reachable only at this address</div>",
                escape(b33)
            ),
            None => format!("<code>{}</code>", escape(&d.b32)),
        };
        let leaseset = match (d.publishes, d.leaseset_stored) {
            (false, _) => "not published (client)",
            (true, true) => "stored at a floodfill",
            (true, false) if d.leases > 0 => "being published",
            (true, false) => "waiting for tunnels",
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{address}</td><td>{} / {}</td><td>{leaseset}</td></tr>",
            escape(&d.name),
            d.inbound_tunnels,
            d.outbound_tunnels,
        );
    }
    out.push_str("</table></div>\n</section>");
}

/// One row of the tunnel table.
fn tunnel_row(out: &mut String, tunnel: &TunnelInfo) {
    let hops = if tunnel.hops.is_empty() {
        "<span class=\"empty\">zero-hop</span>".to_owned()
    } else {
        tunnel
            .hops
            .iter()
            .map(|hash| {
                let short: String = hash.chars().take(HOP_PREFIX).collect();
                format!("<code title=\"{}\">{}</code>", escape(hash), escape(&short))
            })
            .collect::<Vec<_>>()
            .join("<span class=\"arrow\">&rarr;</span>")
    };
    let _ = writeln!(
        out,
        "<tr><td>{}</td><td>{}</td><td class=\"hops\">{hops}</td><td>{}</td></tr>",
        escape(&tunnel.direction),
        escape(&tunnel.pool),
        escape(&human_duration(tunnel.expires_in_s)),
    );
}

#[cfg(test)]
mod test {
    use super::*;
    use gousse_router::status::SessionCounts;
    use gousse_router::{TransitLimits, TunnelCounts};

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
            ..Status::default()
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
    fn address_book_link_only_when_served() {
        let status = Status::default();
        assert!(!render_page(&status).contains("/hosts"));
        assert!(!render_status_page(&status, false).contains("<nav>"));
        let page = render_status_page(&status, true);
        assert!(
            page.contains(r#"<a href="/hosts">Address book</a>"#),
            "{page}"
        );
        assert!(page.contains(r#"<a href="/" class="here">Status</a>"#));
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

    fn tunnel(direction: &str, hops: &[&str], expires_in_s: u64) -> TunnelInfo {
        TunnelInfo {
            direction: direction.into(),
            pool: "exploratory".into(),
            hops: hops.iter().map(|h| (*h).to_owned()).collect(),
            expires_in_s,
        }
    }

    #[test]
    fn page_shows_tunnels_and_transit() {
        let status = Status {
            tunnels: TunnelCounts {
                exploratory_inbound: 2,
                exploratory_outbound: 3,
                client_inbound: 0,
                client_outbound: 1,
            },
            tunnel_build_success_pct: Some(87),
            tunnel_builds_ok: 13,
            tunnel_builds_failed: 2,
            transit_tunnels: 41,
            transit_bytes: 5 << 20,
            transit_rejected: 9,
            transit_dropped: 4,
            transit_limits: TransitLimits {
                accept: true,
                max_tunnels: 300,
                share_bytes_per_s: 128 * 1024,
            },
            netdb_through_tunnels: true,
            netdb_messages_through_tunnels: 321,
            netdb_messages_direct: 12,
            tunnel_tests_ok: 31,
            tunnel_tests_failed: 6,
            build_requests_dropped: 17,
            build_requests_replayed: 3,
            tunnel_messages_dropped: 8,
            reassembly_bytes: 3072,
            tunnel_list: vec![
                tunnel("inbound", &["AAAAAAxyz~=", "BBBBBBq-rs="], 540),
                tunnel("outbound", &["CCCCCC<b>="], 75),
            ],
            ..Status::default()
        };
        let page = render_page(&status);
        for needle in [
            "2 / 3",                  // exploratory in / out
            "0 / 1",                  // client in / out
            "87 % (13 ok, 2 failed)", // build success
            "through tunnels",        // netDb route
            "321 / 12",               // netDb messages
            "41 (at most 300)",       // transit tunnels
            "5.0 MiB",                // bytes relayed
            "<td>9</td>",             // rejected
            "4 messages",             // dropped
            "128 KB/s each way",      // share
            r#"<span class="badge">accepting</span>"#,
            "<code title=\"AAAAAAxyz~=\">AAAAAA</code>",
            "<code title=\"BBBBBBq-rs=\">BBBBBB</code>",
            "9 min 0 s",
            "1 min 15 s",
            "<td>inbound</td>",
            "<td>outbound</td>",
            "31 / 6",         // tunnel tests
            "17 (3 replays)", // build requests dropped
            "<td>8</td>",     // tunnel messages dropped
            "3.0 KiB",        // reassembly
        ] {
            assert!(page.contains(needle), "page lacks {needle:?}");
        }
        // Hops in order, gateway first.
        let a = page.find(">AAAAAA<").unwrap();
        let b = page.find(">BBBBBB<").unwrap();
        assert!(a < b);
        // Hashes are escaped, in the prefix and in the title.
        assert!(!page.contains("<b>"));
        assert!(page.contains("CCCCCC&lt;b&gt;="));
    }

    #[test]
    fn page_shows_refused_transit_and_no_tunnels() {
        let status = Status {
            transit_limits: TransitLimits {
                accept: false,
                max_tunnels: 0,
                share_bytes_per_s: 0,
            },
            ..Status::default()
        };
        let page = render_page(&status);
        assert!(page.contains(r#"<span class="badge off">not accepting</span>"#));
        assert!(page.contains("existing ones drain"));
        assert!(page.contains("No tunnels yet."));
        assert!(page.contains("direct (no tunnels yet)"));
        assert!(page.contains("&ndash; (0 ok, 0 failed)"));
    }

    #[test]
    fn long_tunnel_lists_are_cut() {
        let status = Status {
            tunnel_list: (0..150).map(|i| tunnel("inbound", &["Hop"], i)).collect(),
            ..Status::default()
        };
        let page = render_page(&status);
        assert_eq!(page.matches("<td>inbound</td>").count(), MAX_TUNNEL_ROWS);
        assert!(page.contains("and 50 more"));
    }

    #[test]
    fn destinations_show_their_addresses() {
        let status = Status {
            destinations: vec![
                gousse_router::DestinationStatus {
                    name: "site <1>".into(),
                    b32: "abcd.b32.i2p".into(),
                    publishes: true,
                    leaseset_stored: true,
                    inbound_tunnels: 2,
                    outbound_tunnels: 3,
                    ..Default::default()
                },
                gousse_router::DestinationStatus {
                    name: "hidden".into(),
                    b32: "efgh.b32.i2p".into(),
                    b33: Some("longer.b32.i2p".into()),
                    publishes: true,
                    ..Default::default()
                },
            ],
            ..Status::default()
        };
        let page = render_page(&status);
        assert!(page.contains("site &lt;1&gt;"), "names are escaped");
        assert!(page.contains("<code>abcd.b32.i2p</code>"));
        assert!(page.contains("2 / 3"));
        assert!(page.contains("stored at a floodfill"));
        assert!(page.contains("<code>longer.b32.i2p</code>"));
        assert!(
            !page.contains("efgh.b32.i2p"),
            "an encrypted LeaseSet's destination is shown by its b33 only"
        );
        assert!(page.contains("waiting for tunnels"));
        assert!(render_page(&Status::default()).contains("Local destinations"));
    }
}
