//! Ports as `open-port`, `close-port` and `opened-ports` spell them.

use std::fmt;

/// An IP protocol Juju can open ports for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// `tcp`
    Tcp,
    /// `udp`
    Udp,
    /// `icmp` (no port numbers)
    Icmp,
}

impl Protocol {
    /// The name hook tools use.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
        }
    }
}

/// A port or port range opened (or to open) for this unit.
///
/// ```
/// use juju_rs_ops::model::Port;
/// assert_eq!(Port::tcp(4433).to_string(), "4433/tcp");
/// assert_eq!(Port::parse("8000-8099/udp"), Some(Port::udp(8000).to(8099)));
/// assert_eq!(Port::parse("icmp"), Some(Port::icmp()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port {
    /// The protocol.
    pub protocol: Protocol,
    /// The (first) port number; `None` for ICMP.
    pub port: Option<u16>,
    /// The last port of a range; `None` for a single port.
    pub to_port: Option<u16>,
}

impl Port {
    /// One TCP port.
    pub fn tcp(port: u16) -> Port {
        Port {
            protocol: Protocol::Tcp,
            port: Some(port),
            to_port: None,
        }
    }

    /// One UDP port.
    pub fn udp(port: u16) -> Port {
        Port {
            protocol: Protocol::Udp,
            port: Some(port),
            to_port: None,
        }
    }

    /// ICMP (no port number).
    pub fn icmp() -> Port {
        Port {
            protocol: Protocol::Icmp,
            port: None,
            to_port: None,
        }
    }

    /// This port extended to a range ending at `last`.
    pub fn to(self, last: u16) -> Port {
        Port {
            to_port: Some(last),
            ..self
        }
    }

    /// Parses one entry of `opened-ports --format=json`: `80/tcp`, `80` (tcp),
    /// `8000-8999/udp` or `icmp`. Anything else is `None`.
    pub fn parse(entry: &str) -> Option<Port> {
        let (range, protocol) = match entry.split_once('/') {
            Some((range, protocol)) => (range, protocol),
            None if entry == "icmp" => return Some(Port::icmp()),
            None => (entry, "tcp"),
        };
        let protocol = match protocol {
            "tcp" => Protocol::Tcp,
            "udp" => Protocol::Udp,
            "icmp" => return Some(Port::icmp()),
            _ => return None,
        };
        let (first, last) = match range.split_once('-') {
            Some((first, last)) => (first.parse().ok()?, Some(last.parse().ok()?)),
            None => (range.parse().ok()?, None),
        };
        Some(Port {
            protocol,
            port: Some(first),
            to_port: last,
        })
    }
}

impl fmt::Display for Port {
    /// The argument `open-port` and `close-port` take, as ops passes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.port, self.to_port) {
            (None, _) => f.write_str(self.protocol.as_str()),
            (Some(port), None) => write!(f, "{port}/{}", self.protocol.as_str()),
            (Some(port), Some(last)) => write!(f, "{port}-{last}/{}", self.protocol.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_opened_ports_prints() {
        assert_eq!(Port::parse("80/tcp"), Some(Port::tcp(80)));
        assert_eq!(Port::parse("80"), Some(Port::tcp(80)));
        assert_eq!(Port::parse("53/udp"), Some(Port::udp(53)));
        assert_eq!(Port::parse("8000-8999"), Some(Port::tcp(8000).to(8999)));
        assert_eq!(Port::parse("icmp"), Some(Port::icmp()));
        assert_eq!(Port::parse("80/sctp"), None);
        assert_eq!(Port::parse("http/tcp"), None);
        assert_eq!(Port::parse("70000/tcp"), None);
    }

    #[test]
    fn display_round_trips() {
        for port in [Port::tcp(4433), Port::udp(1).to(9), Port::icmp()] {
            assert_eq!(Port::parse(&port.to_string()), Some(port));
        }
    }
}
