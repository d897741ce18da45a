use super::*;
use proptest::prelude::*;
use serde_json::json;

fn p(s: &str) -> Filter {
    Filter::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn path(name: &str) -> AttrPath {
    AttrPath {
        urn: None,
        name: name.into(),
        sub: None,
    }
}

#[test]
fn rfc_7644_examples_parse() {
    // RFC 7644 §3.4.2.2, every example filter.
    for f in [
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"userName sw "J""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        "title pr",
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
        r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"title pr or userType eq "Intern""#,
        r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType eq "Employee" and (emails.type eq "work")"#,
        r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
    ] {
        p(f);
    }
}

#[test]
fn precedence_is_not_then_and_then_or() {
    let f = p(r#"a eq "1" or b eq "2" and c eq "3""#);
    assert!(matches!(f, Filter::Or(_, ref r) if matches!(**r, Filter::And(..))), "{f:?}");
    let f = p(r#"a eq "1" and b eq "2" or c eq "3""#);
    assert!(matches!(f, Filter::Or(ref l, _) if matches!(**l, Filter::And(..))), "{f:?}");
}

#[test]
fn keywords_are_case_insensitive_and_urns_split_at_the_last_colon() {
    let f = p(r#"userName EQ "x" AND Active Eq True"#);
    assert_eq!(f.equality_on("username"), Some("x"));
    let f = p(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Legal""#);
    match f {
        Filter::Compare(a, CompareOp::Eq, Literal::Str(v)) => {
            assert_eq!(a.urn.as_deref(), Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"));
            assert_eq!(a.name, "department");
            assert_eq!(v, "Legal");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_filters_are_refused_with_a_position() {
    for f in [
        "",
        "userName",
        r#"userName eq"#,
        r#"userName eq bjensen"#,
        r#"userName xx "a""#,
        r#"userName eq "a" and"#,
        r#"(userName eq "a""#,
        r#"emails[type eq "work""#,
        r#"active gt true"#,
        r#"userName co 3"#,
        r#"userName eq "unterminated"#,
        r#"userName eq "a" extra"#,
        r#"not userName eq "a""#,
        r#"1abc eq "a""#,
    ] {
        let e = Filter::parse(f).expect_err(f);
        assert!(e.message.contains("character"), "{f}: {e}");
    }
    let deep = format!("{}a pr{}", "(".repeat(100), ")".repeat(100));
    assert!(Filter::parse(&deep).is_err());
}

#[test]
fn matching_follows_rfc_semantics() {
    let user = json!({
        "userName": "BJensen@Example.com",
        "externalId": "AbC",
        "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@home.org", "type": "home"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Legal"},
        "meta": {"lastModified": "2026-01-02T03:04:05Z"}
    });
    let exact = |a: &AttrPath| a.name.eq_ignore_ascii_case("externalId");
    let yes = |f: &str| assert!(p(f).matches(&user, &exact), "{f} should match");
    let no = |f: &str| assert!(!p(f).matches(&user, &exact), "{f} should not match");
    yes(r#"userName eq "bjensen@example.com""#);
    no(r#"externalId eq "abc""#);
    yes(r#"externalId eq "AbC""#);
    yes(r#"name.familyName co "ens""#);
    yes(r#"userName sw "bj""#);
    yes(r#"userName ew ".COM""#);
    yes(r#"emails co "home.org""#);
    yes(r#"emails[type eq "work" and value co "@example.com"]"#);
    no(r#"emails[type eq "home" and value co "@example.com"]"#);
    yes(r#"emails.type eq "home""#);
    yes("active eq true");
    no("active eq false");
    yes(r#"not (active eq false)"#);
    yes("title pr or name pr");
    no("title pr");
    yes(r#"title ne "x""#);
    yes(r#"meta.lastModified gt "2026-01-01T00:00:00Z""#);
    no(r#"meta.lastModified lt "2026-01-01T00:00:00Z""#);
    yes(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "legal""#);
    yes(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "B""#);
}

#[test]
fn patch_paths() {
    let pp = PatchPath::parse(r#"emails[type eq "work"].value"#).unwrap();
    assert_eq!(pp.attr, path("emails"));
    assert_eq!(pp.sub.as_deref(), Some("value"));
    assert!(pp.filter.is_some());
    let pp = PatchPath::parse("name.givenName").unwrap();
    assert_eq!(pp.attr.sub.as_deref(), Some("givenName"));
    let pp = PatchPath::parse("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department").unwrap();
    assert_eq!(pp.attr.name, "department");
    let pp = PatchPath::parse(r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#).unwrap();
    assert_eq!(pp.attr, path("members"));
    for bad in [
        "",
        "emails[",
        "emails[type eq \"w\"]x",
        "a b",
        "emails[type eq \"w\"].",
        "name.given.x",
    ] {
        assert!(PatchPath::parse(bad).is_err(), "{bad}");
    }
}

fn arb_path() -> impl Strategy<Value = AttrPath> {
    (
        prop::option::of(Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:user".to_owned())),
        "[a-zA-Z][a-zA-Z0-9_]{0,8}".prop_filter("not a keyword", |n| !n.eq_ignore_ascii_case("not")),
        prop::option::of("[a-zA-Z][a-zA-Z0-9]{0,6}"),
    )
        .prop_map(|(urn, name, sub)| AttrPath { urn, name, sub })
}

fn arb_literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        any::<String>().prop_map(Literal::Str),
        (-1.0e9f64..1.0e9).prop_map(|n| Literal::Num((n * 100.0).round() / 100.0)),
        any::<bool>().prop_map(Literal::Bool),
        Just(Literal::Null),
    ]
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    let ops = prop_oneof![Just(CompareOp::Eq), Just(CompareOp::Ne)];
    let leaf = prop_oneof![
        (arb_path(), ops, arb_literal()).prop_map(|(p, o, l)| Filter::Compare(p, o, l)),
        (arb_path(), any::<String>()).prop_map(|(p, s)| Filter::Compare(p, CompareOp::Co, Literal::Str(s))),
        (arb_path(), -1000i64..1000).prop_map(|(p, n)| Filter::Compare(p, CompareOp::Gt, Literal::Num(n as f64))),
        arb_path().prop_map(Filter::Present),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.clone().prop_map(|a| Filter::Not(Box::new(a))),
            (
                arb_path().prop_map(|mut p| {
                    p.sub = None;
                    p
                }),
                inner
            )
                .prop_map(|(p, f)| Filter::ValuePath(p, Box::new(f))),
        ]
    })
}

proptest! {
    #[test]
    fn printing_and_parsing_round_trips(f in arb_filter()) {
        let text = f.to_string();
        let back = Filter::parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(back, f);
    }

    #[test]
    fn any_input_parses_or_fails_cleanly(s in "\\PC{0,80}") {
        let _ = Filter::parse(&s);
        let _ = PatchPath::parse(&s);
    }

    #[test]
    fn a_filter_and_its_negation_never_both_match(f in arb_filter(), given in "[a-z]{0,5}") {
        let user = json!({"userName": given, "active": true, "emails": [{"value": "a@b.c", "type": "work"}]});
        let not = Filter::Not(Box::new(f.clone()));
        prop_assert_ne!(f.matches(&user, &|_| false), not.matches(&user, &|_| false));
    }
}
