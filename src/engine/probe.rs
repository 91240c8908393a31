//! Whether the network is there at all: which failed checks count as evidence of being offline (typed transport facts, never wording), and the OS's own answer (a default route).

use super::*;

/// Whether a card is evidence of being offline: the request reached nothing
/// at all (DNS, no route, a timeout). A refusal, a reset or a TLS peer is
/// something at the host's address answering — the network works and that
/// service is unreachable (services on one dead self-hosted host alert
/// instead of hiding behind "offline"). A 5xx is an answer. Read from the
/// reason's typed facts, never from its wording.
pub fn is_connect_failure(card: &Card) -> bool {
    match &card.reason {
        Some(r) if card.status == Status::Unknown => {
            r.kind == ReasonKind::Offline || r.facts.transport.is_some_and(|t| !t.proves_network())
        }
        _ => false,
    }
}

/// Whether the OS has a route to anywhere: a default route on an interface
/// other than loopback (Linux: `/proc/net/route`, `/proc/net/ipv6_route`).
/// Elsewhere, or when those files cannot be read, it says yes and leaves
/// the verdict to the checks themselves.
pub fn os_has_default_route() -> bool {
    #[cfg(target_os = "linux")]
    {
        let v4 = std::fs::read_to_string("/proc/net/route").ok();
        let v6 = std::fs::read_to_string("/proc/net/ipv6_route").ok();
        default_route_in(v4.as_deref(), v6.as_deref())
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// Reads Linux's route tables (the text of `/proc/net/route` and
/// `/proc/net/ipv6_route`); `true` when neither could be read.
pub fn default_route_in(v4: Option<&str>, v6: Option<&str>) -> bool {
    if v4.is_none() && v6.is_none() {
        return true;
    }
    let v4_default = v4.unwrap_or_default().lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 1 && f[1] == "00000000" && f[0] != "lo"
    });
    // RTF_REJECT (0x0200) marks the kernel's "unreachable" placeholder.
    let v6_default = v6.unwrap_or_default().lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() >= 10
            && f[0].bytes().all(|b| b == b'0')
            && f[1] == "00"
            && f[9] != "lo"
            && u32::from_str_radix(f[8], 16).is_ok_and(|flags| flags & 0x0200 == 0)
    });
    v4_default || v6_default
}

#[cfg(test)]
mod tests {
    use super::{default_route_in, is_connect_failure};
    use crate::model::{Card, Reason, ReasonKind, Transport};

    #[test]
    fn offline_evidence_is_the_transport_fact_never_the_wording() {
        let unknown = |r: Reason| Card::unknown(r);
        // An answer (a 502 page) whose words look like a transport failure.
        let answered = Reason::new(
            ReasonKind::Unreachable,
            "could not connect to the upstream: connection refused",
        )
        .with_status(502);
        assert!(!is_connect_failure(&unknown(answered)));
        // A transport failure whose words happen to mention HTTP.
        let no_answer = Reason::new(ReasonKind::Unreachable, "proxy failed (HTTP CONNECT)")
            .with_transport(Transport::Other);
        assert!(is_connect_failure(&unknown(no_answer)));
        let timed_out =
            Reason::new(ReasonKind::Timeout, "no answer").with_transport(Transport::TimedOut);
        assert!(is_connect_failure(&unknown(timed_out)));
        // A refusal, a reset or a TLS peer is the host answering: the
        // network works (issue 12 item 8); no route and DNS are not.
        for (t, offline) in [
            (Transport::Refused, false),
            (Transport::Reset, false),
            (Transport::Tls, false),
            (Transport::NoRoute, true),
            (Transport::Dns, true),
        ] {
            let r = Reason::new(ReasonKind::Unreachable, "x").with_transport(t);
            assert_eq!(is_connect_failure(&unknown(r)), offline, "{t:?}");
        }
        // An adapter's unreachable without any transport fact (Railway's
        // internal error on HTTP 200) is an answer.
        assert!(!is_connect_failure(&unknown(Reason::new(
            ReasonKind::Unreachable,
            "Railway's API had an internal error"
        ))));
    }

    const V4_HEAD: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";
    const V6_UNREACHABLE: &str = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";

    #[test]
    fn a_default_route_means_a_network() {
        let v4 = format!("{V4_HEAD}eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
        assert!(default_route_in(Some(&v4), Some(V6_UNREACHABLE)));
        let v6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fe800000000000000000000000000001 00000400 00000001 00000000 00000003 wlan0\n";
        assert!(default_route_in(Some(V4_HEAD), Some(v6)));
    }

    #[test]
    fn only_local_routes_mean_no_network() {
        let v4 = format!("{V4_HEAD}eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
        assert!(!default_route_in(Some(&v4), Some(V6_UNREACHABLE)));
        assert!(!default_route_in(Some(V4_HEAD), None));
        // Unreadable tables decide nothing.
        assert!(default_route_in(None, None));
    }
}
