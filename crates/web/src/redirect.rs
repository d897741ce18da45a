//! S13: where a redirect may send a browser that asked to come back
//! somewhere (`/sign-in?next=…`): a path on this site, never another host.

use percent_encoding::percent_decode_str;

/// S13: `next` if it is a same-site path, else `/`.
///
/// Browsers read `//host`, `/\host` and `\host` as another host, and they
/// strip TAB, CR and LF from URLs, so `/\t/evil.example` is `//evil.example`
/// to them. The value is checked as given and once percent-decoded, and
/// refused if either form does not start with exactly one `/`, holds a
/// backslash, or holds any control or whitespace character. It must also be
/// printable ASCII, since it goes into a `Location` header as it is.
pub fn same_site_path(next: Option<&str>) -> String {
    match next {
        Some(n) if is_same_site_path(n) => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn is_same_site_path(raw: &str) -> bool {
    if !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return false;
    }
    let decoded = percent_decode_str(raw).decode_utf8_lossy();
    plain_path(raw) && plain_path(&decoded)
}

fn plain_path(s: &str) -> bool {
    s.starts_with('/') && !s.starts_with("//") && !s.contains('\\') && !s.chars().any(|c| c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn s13_same_site_paths_are_kept() {
        for ok in [
            "/",
            "/users",
            "/users?status=inactive&q=M%C3%BCller",
            "/users/0190a/history",
            "/a//b",
            "/matters?next=//not-a-prefix",
            "/%2e%2e/users",
        ] {
            assert_eq!(same_site_path(Some(ok)), ok);
        }
    }

    #[test]
    fn s13_anything_else_goes_home() {
        for bad in [
            "",
            "users",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/users\\..\\x",
            "https://evil.example",
            "http:/evil.example",
            "javascript:alert(1)",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r/evil.example",
            "/%09/evil.example",
            "/%0d%0a/evil.example",
            "/%0A/evil.example",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "%2F%2Fevil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "/%20/evil.example",
            "/ /evil.example",
            "/%E3%80%80/evil.example",
            "/%00",
            "/\u{7f}",
            "/é",
            " /users",
        ] {
            assert_eq!(same_site_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(same_site_path(None), "/");
    }

    fn tricky() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("/".to_owned()),
            Just("\\".to_owned()),
            Just("%2F".to_owned()),
            Just("%2f".to_owned()),
            Just("%5C".to_owned()),
            Just("%09".to_owned()),
            Just("%0a".to_owned()),
            Just("%".to_owned()),
            Just("\t".to_owned()),
            Just(" ".to_owned()),
            Just("evil.example".to_owned()),
            Just("https:".to_owned()),
            Just("?next=".to_owned()),
            any::<char>().prop_map(String::from),
        ];
        prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn s13_the_result_is_always_a_same_site_path(raw in prop_oneof![tricky(), any::<String>()]) {
            let out = same_site_path(Some(&raw));
            prop_assert!(out.starts_with('/'));
            prop_assert!(!out.starts_with("//") && !out.starts_with("/\\"));
            prop_assert!(!out.contains('\\'));
            prop_assert!(!out.chars().any(|c| c.is_control() || c.is_whitespace()));
            let decoded = percent_decode_str(&out).decode_utf8_lossy().into_owned();
            prop_assert!(decoded.starts_with('/') && !decoded.starts_with("//") && !decoded.contains('\\'));
            prop_assert!(!decoded.chars().any(|c| c.is_control() || c.is_whitespace()));
            prop_assert!(axum::http::HeaderValue::from_str(&out).is_ok());
        }
    }
}
