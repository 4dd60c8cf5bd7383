//! IP literals and `cidr` ranges, as EventBridge reads them.
//!
//! A value counts as an IP only if it *looks* like one (dotted decimal with four
//! parts, or hex digits and colons) and then parses; IPv6 groups may be
//! zero-padded (`2001:0db8:…`), IPv4 parts may not exceed 255. IPv4 and IPv6
//! are separate spaces: a v4 range never matches a v6 address.

/// An inclusive address range in one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpRange {
    pub(crate) v6: bool,
    pub(crate) lo: u128,
    pub(crate) hi: u128,
}

impl IpRange {
    pub(crate) fn contains(&self, v6: bool, addr: u128) -> bool {
        self.v6 == v6 && self.lo <= addr && addr <= self.hi
    }
}

/// Parses an IP literal into (is_v6, address).
pub(crate) fn parse_ip(s: &str) -> Option<(bool, u128)> {
    if looks_v4(s) {
        return parse_v4(s).map(|a| (false, u128::from(a)));
    }
    if looks_v6(s) {
        return parse_v6(s).map(|a| (true, a));
    }
    None
}

fn looks_v4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

fn looks_v6(s: &str) -> bool {
    s.contains(':') && s.bytes().all(|b| b == b':' || b.is_ascii_hexdigit())
}

fn parse_v4(s: &str) -> Option<u32> {
    let mut out = 0u32;
    for part in s.split('.') {
        let digits = part.trim_start_matches('0');
        if digits.len() > 3 {
            return None;
        }
        let v: u32 = if digits.is_empty() {
            0
        } else {
            digits.parse().ok()?
        };
        if v > 255 {
            return None;
        }
        out = (out << 8) | v;
    }
    Some(out)
}

fn parse_v6(s: &str) -> Option<u128> {
    let (head, tail) = match s.find("::") {
        Some(at) => {
            let tail = s.get(at + 2..)?;
            if tail.contains("::") {
                return None;
            }
            (s.get(..at)?, Some(tail))
        }
        None => (s, None),
    };
    let groups = |part: &str| -> Option<Vec<u16>> {
        if part.is_empty() {
            return Some(Vec::new());
        }
        part.split(':')
            .map(|g| {
                if g.is_empty() || g.len() > 4 {
                    None
                } else {
                    u16::from_str_radix(g, 16).ok()
                }
            })
            .collect()
    };
    let h = groups(head)?;
    let words: Vec<u16> = match tail {
        None => {
            if h.len() != 8 {
                return None;
            }
            h
        }
        Some(tail) => {
            let t = groups(tail)?;
            if h.len() + t.len() > 7 {
                return None;
            }
            let mut w = h;
            w.resize(8 - t.len(), 0);
            w.extend(t);
            w
        }
    };
    Some(
        words
            .iter()
            .fold(0u128, |acc, &g| (acc << 16) | u128::from(g)),
    )
}

/// The range an exact string pattern stands for when it is an IP literal.
pub(crate) fn exact_ip(s: &str) -> Option<IpRange> {
    parse_ip(s).map(|(v6, a)| IpRange { v6, lo: a, hi: a })
}

/// Parses `cidr` text. Note event-ruler's quirk kept here: the range starts
/// at the address as written (host bits are not cleared) and ends at the
/// address with every host bit set.
pub(crate) fn parse_cidr(text: &str) -> Result<IpRange, String> {
    // Java's split drops trailing empty pieces: "10.0.0.0/" has one piece.
    let mut pieces: Vec<&str> = text.split('/').collect();
    while pieces.len() > 1 && pieces.last() == Some(&"") {
        pieces.pop();
    }
    if pieces.len() != 2 {
        return Err("Malformed CIDR, one '/' required".to_owned());
    }
    let mask_text = pieces[1].strip_prefix('+').unwrap_or(pieces[1]);
    let mask: i64 = if !mask_text.is_empty()
        && mask_text.len() <= 11
        && mask_text
            .strip_prefix('-')
            .unwrap_or(mask_text)
            .bytes()
            .all(|b| b.is_ascii_digit())
        && mask_text != "-"
    {
        mask_text
            .parse()
            .map_err(|_| "Malformed CIDR, mask bits must be an integer".to_owned())?
    } else {
        return Err("Malformed CIDR, mask bits must be an integer".to_owned());
    };
    if i32::try_from(mask).is_err() {
        return Err("Malformed CIDR, mask bits must be an integer".to_owned());
    }
    if mask < 0 {
        return Err("Malformed CIDR, mask bits must not be negative".to_owned());
    }
    let ip = pieces[0];
    let (v6, addr) = if looks_v4(ip) || looks_v6(ip) {
        parse_ip(ip).ok_or_else(|| format!("Invalid IP address: {ip}"))?
    } else {
        return Err(format!("Nonstandard IP address: {ip}"));
    };
    let bits: u32 = if v6 { 128 } else { 32 };
    if v6 && mask > 127 {
        return Err("IPv6 mask bits must be < 128".to_owned());
    }
    if !v6 && mask > 31 {
        return Err("IPv4 mask bits must be < 32".to_owned());
    }
    let host_bits = bits - u32::try_from(mask).unwrap_or(0);
    let host_mask: u128 = if host_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    };
    Ok(IpRange {
        v6,
        lo: addr,
        hi: addr | host_mask,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(parse_ip("10.0.0.255"), Some((false, 0x0A00_00FF)));
        assert_eq!(parse_ip("10.0.0.256"), None);
        assert_eq!(
            parse_ip("2001:0db8:1234:1a00:0000:0000:0000:0000"),
            parse_ip("2001:db8:1234:1a00::")
        );
        assert_eq!(parse_ip("::"), Some((true, 0)));
        assert_eq!(parse_ip("1:2"), None);
        assert_eq!(parse_ip("hello"), None);
    }

    #[test]
    fn cidr_messages() {
        assert_eq!(
            parse_cidr("bad-filter").unwrap_err(),
            "Malformed CIDR, one '/' required"
        );
        assert_eq!(
            parse_cidr("xx.11.xx/8").unwrap_err(),
            "Nonstandard IP address: xx.11.xx"
        );
        assert_eq!(
            parse_cidr("bad-/64filter").unwrap_err(),
            "Malformed CIDR, mask bits must be an integer"
        );
        assert_eq!(
            parse_cidr("xxxx:db8:1234:1a00::/64").unwrap_err(),
            "Nonstandard IP address: xxxx:db8:1234:1a00::"
        );
        let r = parse_cidr("10.0.0.0/24").unwrap();
        assert!(r.contains(false, 0x0A00_00FF));
        assert!(!r.contains(false, 0x0A00_0100));
        let r6 = parse_cidr("2001:db8:1234:1a00::/64").unwrap();
        let (v6, a) = parse_ip("2001:0db8:1234:1a00:0000:0000:0000:0000").unwrap();
        assert!(r6.contains(v6, a));
        let (v6, a) = parse_ip("2001:0db8:123f:1a01:0000:0000:0000:0000").unwrap();
        assert!(!r6.contains(v6, a));
    }
}
