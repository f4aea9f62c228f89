//! Choosing tunnel hops (peer-selection.md; tunnel-implementation.md, "Peer
//! Selection"): from routers we can reach, weighted by what their profiles say, never
//! two in the same /16 on the real network (IPv4; /32 for IPv6), never ourselves.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use i2p_wire::Hash;

/// What we know of one candidate.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// Its router hash.
    pub hash: Hash,
    /// Its NTCP2 address's IP, if published.
    pub ip: Option<IpAddr>,
    /// Selection weight in (0, 1]: higher is better.
    pub weight: f64,
}

/// Tunnel build outcomes we counted for a peer (loaded from and saved to the store).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TunnelStats {
    /// Accepted builds.
    pub ok: u64,
    /// Rejected builds.
    pub rejected: u64,
    /// Builds that timed out with this peer on the path.
    pub timed_out: u64,
}

impl TunnelStats {
    /// Selection weight: a Laplace-smoothed success ratio, so unknown peers get a fair
    /// chance (1/2) and repeatedly failing ones fade but are never excluded forever.
    pub fn weight(&self) -> f64 {
        let ok = self.ok as f64;
        let bad = (self.rejected + self.timed_out) as f64;
        ((ok + 1.0) / (ok + bad + 2.0)).max(0.02)
    }
}

/// The network prefix two hops must not share: /16 for IPv4, /32 for IPv6.
fn prefix(ip: IpAddr) -> [u8; 4] {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            [4, o[0], o[1], 0]
        }
        IpAddr::V6(v6) => {
            let o = v6.octets();
            [o[0], o[1], o[2], o[3]]
        }
    }
}

/// Chooses `n` distinct hops by weighted random choice without replacement; `random`
/// gives uniform numbers in [0, 1). Returns `None` if there are not enough eligible
/// candidates. With `distinct_prefixes`, no two hops share a /16.
pub fn select_hops(
    candidates: &[Candidate],
    n: usize,
    exclude: &HashSet<Hash>,
    distinct_prefixes: bool,
    mut random: impl FnMut() -> f64,
) -> Option<Vec<Hash>> {
    let mut pool: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| !exclude.contains(&c.hash))
        .collect();
    let mut chosen = Vec::with_capacity(n);
    let mut used_prefixes: HashSet<[u8; 4]> = HashSet::new();
    while chosen.len() < n {
        if distinct_prefixes {
            pool.retain(|c| c.ip.is_none_or(|ip| !used_prefixes.contains(&prefix(ip))));
        }
        let total: f64 = pool.iter().map(|c| c.weight.max(0.0)).sum();
        if pool.is_empty() || total <= 0.0 {
            return None;
        }
        let mut x = random().clamp(0.0, 0.999_999) * total;
        let mut idx = pool.len() - 1;
        for (i, c) in pool.iter().enumerate() {
            x -= c.weight.max(0.0);
            if x < 0.0 {
                idx = i;
                break;
            }
        }
        let c = pool.swap_remove(idx);
        if let Some(ip) = c.ip {
            used_prefixes.insert(prefix(ip));
        }
        chosen.push(c.hash);
    }
    Some(chosen)
}

/// Candidates from a table of routers and their stats.
pub fn candidates<'a>(
    routers: impl Iterator<Item = (Hash, Option<IpAddr>)> + 'a,
    stats: &HashMap<Hash, TunnelStats>,
) -> Vec<Candidate> {
    routers
        .map(|(hash, ip)| Candidate {
            hash,
            ip,
            weight: stats.get(&hash).copied().unwrap_or_default().weight(),
        })
        .collect()
}

/// A uniform random number in [0, 1) from the OS CSPRNG.
pub fn os_random() -> f64 {
    (i2p_crypto::random_below(1 << 53) as f64) / ((1u64 << 53) as f64)
}

#[cfg(test)]
mod test {
    use super::*;

    fn cand(i: u8, ip: &str, weight: f64) -> Candidate {
        Candidate {
            hash: Hash([i; 32]),
            ip: Some(ip.parse().unwrap()),
            weight,
        }
    }

    #[test]
    fn distinct_prefixes_on_the_real_network() {
        let c = vec![
            cand(1, "5.1.0.1", 1.0),
            cand(2, "5.1.9.9", 1.0),
            cand(3, "6.2.0.1", 1.0),
            cand(4, "7.3.0.1", 1.0),
        ];
        for _ in 0..200 {
            let hops = select_hops(&c, 3, &HashSet::new(), true, os_random).unwrap();
            let has1 = hops.contains(&Hash([1; 32]));
            let has2 = hops.contains(&Hash([2; 32]));
            assert!(!(has1 && has2), "two hops in 5.1/16");
        }
        assert!(select_hops(&c, 4, &HashSet::new(), true, os_random).is_none());
        assert_eq!(
            select_hops(&c, 4, &HashSet::new(), false, os_random)
                .unwrap()
                .len(),
            4
        );
    }

    #[test]
    fn excluded_never_chosen_and_hops_distinct() {
        let c: Vec<Candidate> = (1..=6)
            .map(|i| cand(i, &format!("198.18.0.{i}"), 1.0))
            .collect();
        let ex: HashSet<Hash> = [Hash([3; 32])].into();
        for _ in 0..100 {
            let hops = select_hops(&c, 5, &ex, false, os_random).unwrap();
            assert!(!hops.contains(&Hash([3; 32])));
            let set: HashSet<_> = hops.iter().collect();
            assert_eq!(set.len(), 5);
        }
    }

    #[test]
    fn weights_bias_the_choice() {
        let c = vec![cand(1, "198.18.0.1", 0.9), cand(2, "198.18.0.2", 0.1)];
        let mut first = 0;
        for _ in 0..2000 {
            if select_hops(&c, 1, &HashSet::new(), false, os_random).unwrap()[0] == Hash([1; 32]) {
                first += 1;
            }
        }
        assert!((1650..=1950).contains(&first), "{first}");
    }

    #[test]
    fn stats_weight() {
        assert_eq!(TunnelStats::default().weight(), 0.5);
        let good = TunnelStats {
            ok: 20,
            rejected: 0,
            timed_out: 0,
        };
        let bad = TunnelStats {
            ok: 0,
            rejected: 10,
            timed_out: 10,
        };
        assert!(good.weight() > 0.9);
        assert!(bad.weight() < 0.06 && bad.weight() > 0.0);
    }
}
