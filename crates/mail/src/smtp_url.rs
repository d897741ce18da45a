//! `TRACKER_SMTP_URL` (SPEC §6), parsed once at start-up so that a typo
//! stops `tracker serve` with a clear message instead of failing every
//! delivery later.

use crate::error::ConfigError;
use std::fmt;

/// How the connection to the mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtp://`: plain text, for a relay on the same host or network.
    None,
    /// `smtp+starttls://`: plain connect, then STARTTLS is required.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Tls,
}

/// A parsed SMTP URL. `Debug` and [`SmtpUrl::redacted`] never show the
/// password, so the value can be logged.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// User and password, percent-decoded.
    pub credentials: Option<(String, String)>,
}

impl SmtpUrl {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let bad = |why: String| ConfigError::SmtpUrl(why);
        let url = url::Url::parse(text.trim()).map_err(|e| bad(format!("not a URL ({e})")))?;
        let (security, default_port) = match url.scheme() {
            "smtp" => (Security::None, 25),
            "smtp+starttls" => (Security::StartTls, 587),
            "smtps" => (Security::Tls, 465),
            other => return Err(bad(format!("unknown scheme '{other}'"))),
        };
        // Only special schemes (http, …) get their host lower-cased by the
        // URL parser; host names are case-insensitive, and TLS names too.
        let host = url
            .host_str()
            .unwrap_or("")
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if host.is_empty() {
            return Err(bad("no host".into()));
        }
        let port = url.port().unwrap_or(default_port);
        if port == 0 {
            return Err(bad("port 0".into()));
        }
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(bad("nothing may follow host and port (no path, ? or #)".into()));
        }
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            ("", Some(_)) => return Err(bad("a password without a user".into())),
            (_, None) => return Err(bad("a user without a password".into())),
            (user, Some(password)) => Some((decode(user, "user")?, decode(password, "password")?)),
        };
        Ok(Self {
            host,
            port,
            security,
            credentials,
        })
    }

    /// The URL without its password, for logs and start-up messages.
    pub fn redacted(&self) -> String {
        let scheme = match self.security {
            Security::None => "smtp",
            Security::StartTls => "smtp+starttls",
            Security::Tls => "smtps",
        };
        let user = self.credentials.as_ref().map(|(u, _)| format!("{u}:***@")).unwrap_or_default();
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{user}{host}:{}", self.port)
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn decode(part: &str, what: &str) -> Result<String, ConfigError> {
    percent_encoding::percent_decode_str(part)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ConfigError::SmtpUrl(format!("the {what} is not UTF-8 once percent-decoded")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> SmtpUrl {
        SmtpUrl::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn refusal(s: &str) -> String {
        match SmtpUrl::parse(s) {
            Ok(u) => panic!("{s} was accepted as {u:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn schemes_choose_security_and_default_port() {
        let u = parse("smtp://mail.example.com");
        assert_eq!(
            (u.host.as_str(), u.port, u.security, u.credentials),
            ("mail.example.com", 25, Security::None, None)
        );
        let u = parse("smtp+starttls://mail.example.com");
        assert_eq!((u.port, u.security), (587, Security::StartTls));
        let u = parse("smtps://mail.example.com/");
        assert_eq!((u.port, u.security), (465, Security::Tls));
        assert_eq!(parse("smtp://127.0.0.1:2525").port, 2525);
        assert_eq!(parse("SMTP://Mail.Example.com:26").host, "mail.example.com");
    }

    #[test]
    fn credentials_are_percent_decoded() {
        let u = parse("smtp+starttls://tracker%40example.com:p%40ss%3Aw%2Frd%20%C3%A9@mail.example.com:2587");
        assert_eq!(u.credentials, Some(("tracker@example.com".into(), "p@ss:w/rd é".into())));
        assert_eq!(u.port, 2587);
    }

    #[test]
    fn ipv6_hosts_lose_their_brackets() {
        let u = parse("smtp://[::1]:2525");
        assert_eq!(u.host, "::1");
        assert_eq!(u.redacted(), "smtp://[::1]:2525");
    }

    #[test]
    fn the_password_is_never_shown() {
        let u = parse("smtps://me:hunter2@mail.example.com");
        assert_eq!(u.redacted(), "smtps://me:***@mail.example.com:465");
        assert!(!format!("{u:?}").contains("hunter2"));
        assert!(!refusal("smtp://me:hunter2@mail.example.com/path").contains("hunter2"));
        assert!(!refusal("smtp://me:hunter2@mail.example.com:99999").contains("hunter2"));
    }

    #[test]
    fn malformed_urls_are_refused_naming_the_variable() {
        for (url, why) in [
            ("mail.example.com:25", "unknown scheme 'mail.example.com'"),
            ("http://mail.example.com", "unknown scheme 'http'"),
            ("smtp+ssl://mail.example.com", "unknown scheme"),
            ("smtp://", "no host"),
            ("smtp://:pw@", "empty host"),
            ("smtp://mail.example.com:0", "port 0"),
            ("smtp://mail.example.com:70000", "not a URL"),
            ("smtp://mail.example.com/relay", "nothing may follow"),
            ("smtp://mail.example.com?tls=required", "nothing may follow"),
            ("smtp://user@mail.example.com", "a user without a password"),
            ("smtp://:secret@mail.example.com", "a password without a user"),
            ("smtp://u:%FF@mail.example.com", "not UTF-8"),
            ("", "not a URL"),
        ] {
            let text = refusal(url);
            assert!(text.starts_with("TRACKER_SMTP_URL"), "{url}: {text}");
            assert!(text.contains(why), "{url}: expected '{why}' in: {text}");
        }
    }
}
