use super::*;

fn sign_in(purpose: SignInPurpose, coordinator: Option<Contact>) -> SignInLetter {
    SignInLetter {
        purpose,
        greeting: greeting(Some("Siobhán")),
        sign_in_id: "siobhan.obrien@firm.example".into(),
        company_name: "Acme & Sons <Legal>".into(),
        link: "https://tracker.example.com/set-password?token=abc_DEF-123".into(),
        valid_for: valid_for(168),
        expires: utc_text(1_700_000_000_000 + 168 * 3_600_000),
        coordinator,
    }
}

fn coordinator() -> Option<Contact> {
    Some(Contact {
        name: "Dana O'Neil".into(),
        email: "dana@acme.example".into(),
    })
}

#[test]
fn new_user_email_snapshot() {
    let l = sign_in(SignInPurpose::NewUser, coordinator()).render().unwrap();
    insta::assert_snapshot!("new_user_email_subject", l.subject);
    insta::assert_snapshot!("new_user_email_text", l.text);
    insta::assert_snapshot!("new_user_email_html", l.html);
}

#[test]
fn new_user_email_without_coordinator_says_whom_to_ask() {
    let l = sign_in(SignInPurpose::NewUser, None).render().unwrap();
    assert!(
        l.text.contains("contact the person at Acme & Sons <Legal> who gave you access"),
        "{}",
        l.text
    );
    assert!(!l.text.contains("Tracker Coordinator"), "{}", l.text);
    assert!(!l.html.contains("Tracker Coordinator"), "{}", l.html);
}

#[test]
fn password_reset_snapshot() {
    let l = sign_in(SignInPurpose::Reset, None).render().unwrap();
    insta::assert_snapshot!("password_reset_subject", l.subject);
    insta::assert_snapshot!("password_reset_text", l.text);
    insta::assert_snapshot!("password_reset_html", l.html);
}

#[test]
fn html_escapes_what_people_typed_and_text_keeps_it() {
    let l = sign_in(SignInPurpose::NewUser, coordinator()).render().unwrap();
    assert!(
        l.html.contains("Acme &#38; Sons &#60;Legal&#62;") || l.html.contains("Acme &amp; Sons &lt;Legal&gt;"),
        "{}",
        l.html
    );
    assert!(!l.html.contains("<Legal>"), "{}", l.html);
    assert!(
        l.html.contains("Dana O&#39;Neil") || l.html.contains("Dana O&#x27;Neil"),
        "{}",
        l.html
    );
    assert!(
        l.text.contains("Acme & Sons <Legal>") && l.text.contains("Dana O'Neil"),
        "{}",
        l.text
    );
}

fn matter_added() -> MatterAdded {
    MatterAdded {
        greeting: greeting(Some("Ann")),
        company_name: "Acme".into(),
        matter_name: "Smith v. <Jones>".into(),
        matter_number: "M-2024-001".into(),
        role: matter_role_label("matter_editor"),
        link: "https://tracker.example.com/matters/m1".into(),
    }
}

#[test]
fn matter_added_snapshot() {
    let l = matter_added().render().unwrap();
    insta::assert_snapshot!("matter_added_subject", l.subject);
    insta::assert_snapshot!("matter_added_text", l.text);
    insta::assert_snapshot!("matter_added_html", l.html);
}

#[test]
fn matter_closed_says_what_closing_means() {
    let base = MatterClosed {
        greeting: greeting(None),
        company_name: "Acme".into(),
        matter_name: "Smith v. Jones".into(),
        matter_number: "M-1".into(),
        closed_for: ClosedFor::Editing,
        on_behalf_of: None,
        link: "https://tracker.example.com/matters/m1".into(),
    };
    let editing = base.render().unwrap();
    assert_eq!(editing.subject, "Matter Smith v. Jones (M-1) closed for editing");
    assert!(editing.text.starts_with("Hello,\n"), "{}", editing.text);
    assert!(
        editing.text.contains("can no longer be changed") && !editing.text.contains("invoices"),
        "{}",
        editing.text
    );
    let invoicing = MatterClosed {
        closed_for: ClosedFor::Invoicing,
        ..base.clone()
    }
    .render()
    .unwrap();
    assert!(
        !invoicing.text.contains("can no longer be changed") && invoicing.text.contains("No further invoices"),
        "{}",
        invoicing.text
    );
    let both = MatterClosed {
        closed_for: ClosedFor::Both,
        on_behalf_of: Some("Bob <B>".into()),
        ..base
    }
    .render()
    .unwrap();
    insta::assert_snapshot!("matter_closed_subject", both.subject);
    insta::assert_snapshot!("matter_closed_text", both.text);
    insta::assert_snapshot!("matter_closed_html", both.html);
}

#[test]
fn closed_for_accepts_exactly_the_three_values() {
    assert_eq!(ClosedFor::parse("editing"), Some(ClosedFor::Editing));
    assert_eq!(ClosedFor::parse("invoicing"), Some(ClosedFor::Invoicing));
    assert_eq!(ClosedFor::parse("editing and invoicing"), Some(ClosedFor::Both));
    assert_eq!(ClosedFor::parse("Editing"), None);
    assert_eq!(ClosedFor::parse(""), None);
}

#[test]
fn link_lifetimes_read_naturally() {
    assert_eq!(valid_for(168), "7 days");
    assert_eq!(valid_for(24), "1 day");
    assert_eq!(valid_for(36), "36 hours");
    assert_eq!(valid_for(1), "1 hour");
    assert_eq!(valid_for(0), "1 hour");
    assert_eq!(utc_text(0), "1 January 1970, 00:00 UTC");
    assert_eq!(utc_text(1_700_000_000_000), "14 November 2023, 22:13 UTC");
}

#[test]
fn subjects_and_names_stay_on_one_line() {
    assert_eq!(one_line("a\r\nBcc: evil@example.com\tb  c"), "a Bcc: evil@example.com b c");
    assert_eq!(greeting(Some("  ")), "Hello,");
    assert_eq!(greeting(Some("Ann\nMarie")), "Hello Ann Marie,");
    assert_eq!(matter_role_label("billing_only"), "Billing only");
    assert_eq!(matter_role_label("weird\nrole"), "weird role");
}

#[test]
fn offboarding_digest_lists_and_counts_and_escapes() {
    let l = Offboarding {
        greeting: greeting(Some("Ann")),
        company_name: "Acme <Legal>".into(),
        subject: "You took over 3 responsibilities from Bo\nSmith".into(),
        intro: "Bo Smith has left Acme <Legal> and you now hold these responsibilities in Tracker:".into(),
        lines: vec!["Lead company person of <Big> (M-1)".into(), "Coordinator of Paris".into()],
        more: 1,
        link: "https://tracker.example.com".into(),
    }
    .render()
    .unwrap();
    assert_eq!(l.subject, "You took over 3 responsibilities from Bo Smith");
    assert!(
        l.text.contains("- Lead company person of <Big> (M-1)\n- Coordinator of Paris"),
        "{}",
        l.text
    );
    assert!(l.text.contains("… and 1 more."), "{}", l.text);
    assert!(
        l.html.contains("<li>Lead company person of &#60;Big&#62; (M-1)</li>") || l.html.contains("&lt;Big&gt;"),
        "{}",
        l.html
    );
    assert!(!l.html.contains("<Big>"), "{}", l.html);
}
