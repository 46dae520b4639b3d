//! The scheduler's address, checked once when it is read.

use std::fmt;
use std::str::FromStr;

use crate::DistributedError;

/// A Ballista scheduler: `df://host:port` (the form Ballista's own clients take).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClusterUrl {
    host: String,
    port: u16,
}

impl ClusterUrl {
    /// The scheduler's host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The scheduler's gRPC port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl FromStr for ClusterUrl {
    type Err = DistributedError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| DistributedError::BadUrl {
            url: s.to_string(),
            reason: reason.to_string(),
        };
        let rest = s
            .strip_prefix("df://")
            .ok_or_else(|| bad("it must start with df:// (df://host:50050)"))?;
        let (host, port) = rest
            .rsplit_once(':')
            .ok_or_else(|| bad("the port is missing (df://host:50050)"))?;
        if host.is_empty() || host.contains(['/', '@', '?', '#', ' ']) {
            return Err(bad(
                "the host must be a plain name or address (df://host:50050)",
            ));
        }
        let port: u16 = port
            .parse()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?;
        Ok(ClusterUrl {
            host: host.to_string(),
            port,
        })
    }
}

impl TryFrom<String> for ClusterUrl {
    type Error = DistributedError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<ClusterUrl> for String {
    fn from(u: ClusterUrl) -> String {
        u.to_string()
    }
}

impl fmt::Display for ClusterUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "df://{}:{}", self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_host_and_port() {
        let u: ClusterUrl = "df://10.0.0.5:50050".parse().unwrap();
        assert_eq!((u.host(), u.port()), ("10.0.0.5", 50050));
        assert_eq!(u.to_string(), "df://10.0.0.5:50050");
    }

    #[test]
    fn says_what_is_wrong() {
        for (text, words) in [
            ("http://h:50050", "df://"),
            ("df://h", "port is missing"),
            ("df://:50050", "host"),
            ("df://h:0", "1 to 65535"),
            ("df://h:x", "1 to 65535"),
            ("df://h/p:1", "host"),
        ] {
            let e = text.parse::<ClusterUrl>().unwrap_err().to_string();
            assert!(e.contains(words) && e.contains(text), "{text}: {e}");
        }
    }
}
