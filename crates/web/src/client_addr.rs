//! S12: which address a request comes from. The audit log records it and
//! the sign-in rate limits are keyed by it, so a client must not be able to
//! choose it: `X-Forwarded-For` is believed only when the TCP peer is one of
//! our own proxies (`TRACKER_TRUSTED_PROXIES`), and then only as far back as
//! the chain runs through trusted proxies.

use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// S12: the client address of a request that arrived from `peer` with the
/// given `X-Forwarded-For` header values (in the order they were received).
///
/// - The peer, if it is not a trusted proxy (any header is then the
///   client's own words and ignored).
/// - Otherwise the entries of all headers, read as one list from the right
///   (the hop nearest to us) to the left; the first entry that is not a
///   trusted proxy is the client.
/// - A malformed entry met on that walk means the chain cannot be read past
///   it: the answer is the peer.
/// - No header: the peer (the proxy itself made the request).
/// - Every entry trusted: the left-most one, the farthest hop we know.
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut farthest = peer;
    for entry in forwarded_for.iter().rev().flat_map(|h| h.rsplit(',')) {
        let Some(ip) = parse_entry(entry) else {
            return peer;
        };
        if !is_trusted(&ip) {
            return ip;
        }
        farthest = ip;
    }
    farthest
}

/// One `X-Forwarded-For` entry: an address, optionally with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`), as some proxies write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// Parses `TRACKER_TRUSTED_PROXIES`: comma-separated addresses and CIDR
/// networks. An empty value trusts no one.
pub fn parse_trusted(value: &str) -> Result<Vec<IpNet>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("'{s}' is neither an IP address nor a CIDR network such as 10.0.0.0/8"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(s: &str) -> Vec<IpNet> {
        parse_trusted(s).unwrap()
    }

    const PROXIES: &str = "10.0.0.0/8, 192.0.2.10, fd00::/8, 2001:db8:ffff::1";

    #[test]
    fn s12_an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = nets(PROXIES);
        assert_eq!(client_address(ip("198.51.100.7"), &["1.2.3.4"], &trusted), ip("198.51.100.7"));
        assert_eq!(client_address(ip("198.51.100.7"), &[], &trusted), ip("198.51.100.7"));
        assert_eq!(client_address(ip("2001:db8::5"), &["10.0.0.1"], &trusted), ip("2001:db8::5"));
        // Nothing is trusted by default.
        assert_eq!(client_address(ip("10.0.0.1"), &["1.2.3.4"], &[]), ip("10.0.0.1"));
    }

    #[test]
    fn s12_a_trusted_peer_hands_over_to_the_right_most_untrusted_entry() {
        let trusted = nets(PROXIES);
        assert_eq!(client_address(ip("10.0.0.1"), &["203.0.113.9"], &trusted), ip("203.0.113.9"));
        // A client's forged left-most entries are skipped.
        assert_eq!(
            client_address(ip("10.0.0.1"), &["6.6.6.6, 203.0.113.9, 10.1.2.3"], &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(ip("192.0.2.10"), &["203.0.113.9,192.0.2.10,10.9.9.9"], &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn s12_ipv6_peers_and_entries() {
        let trusted = nets(PROXIES);
        assert_eq!(client_address(ip("fd00::1"), &["2001:db8::42"], &trusted), ip("2001:db8::42"));
        assert_eq!(
            client_address(ip("2001:db8:ffff::1"), &["2001:db8::42, fd12::7"], &trusted),
            ip("2001:db8::42")
        );
        assert_eq!(client_address(ip("fd00::1"), &["[2001:db8::42]:443"], &trusted), ip("2001:db8::42"));
        // An IPv4 peer seen on an IPv6 socket is still that IPv4 address.
        assert_eq!(client_address(ip("::ffff:10.0.0.1"), &["203.0.113.9"], &trusted), ip("203.0.113.9"));
        assert_eq!(client_address(ip("::ffff:198.51.100.7"), &[], &trusted), ip("198.51.100.7"));
        assert_eq!(client_address(ip("10.0.0.1"), &["::ffff:203.0.113.9"], &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn s12_several_headers_read_as_one_list_in_order() {
        let trusted = nets(PROXIES);
        assert_eq!(
            client_address(ip("10.0.0.1"), &["6.6.6.6", "203.0.113.9, 10.0.0.2", "10.0.0.3"], &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_address(ip("10.0.0.1"), &["203.0.113.9", "198.51.100.1"], &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn s12_garbage_falls_back_to_the_peer() {
        let trusted = nets(PROXIES);
        for garbage in [
            "unknown",
            "",
            " , ",
            "203.0.113.9,",
            "203.0.113.300",
            "not an address, 10.0.0.2",
            "2001:db8::g",
            "203.0.113.9 10.0.0.2",
            "\u{0}",
        ] {
            assert_eq!(client_address(ip("10.0.0.1"), &[garbage], &trusted), ip("10.0.0.1"), "{garbage:?}");
        }
        // Garbage beyond the first untrusted entry is never read.
        assert_eq!(
            client_address(ip("10.0.0.1"), &["garbage, 203.0.113.9, 10.0.0.2"], &trusted),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn s12_an_all_trusted_chain_gives_its_left_most_hop() {
        let trusted = nets(PROXIES);
        assert_eq!(client_address(ip("10.0.0.1"), &[], &trusted), ip("10.0.0.1"));
        assert_eq!(client_address(ip("10.0.0.1"), &["10.0.0.7, 192.0.2.10"], &trusted), ip("10.0.0.7"));
        assert_eq!(client_address(ip("10.0.0.1"), &["fd00::9", "10.0.0.8"], &trusted), ip("fd00::9"));
    }

    #[test]
    fn s12_trusted_proxies_parse_addresses_and_networks() {
        assert_eq!(nets("").len(), 0);
        assert_eq!(nets(" 10.0.0.0/8 ,192.0.2.1,::1, fd00::/8,").len(), 4);
        assert!(nets("192.0.2.1")[0].contains(&ip("192.0.2.1")));
        assert!(!nets("192.0.2.1")[0].contains(&ip("192.0.2.2")));
        for bad in ["10.0.0.0/33", "proxy.internal", "10.0.0.1-10.0.0.9", "fd00::/129"] {
            let e = parse_trusted(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }
}
