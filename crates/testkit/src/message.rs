//! Reading what the SMTP sink received: the headers and both bodies of a
//! message, and the sign-in link in it.

use mail_parser::{MessageParser, MimeHeaders};

/// What a test reads from one received message.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub subject: String,
    pub message_id: String,
    pub from: String,
    pub to: String,
    pub to_name: Option<String>,
    pub date: i64,
    pub content_type: String,
    pub text: String,
    pub html: String,
}

/// Parses a message as received (CRLF line ends); panics if it is not one.
pub fn parse(raw: &str) -> Parsed {
    let m = MessageParser::default().parse(raw.as_bytes()).expect("a parsable message");
    let ct = m.root_part().content_type().expect("a content type");
    let to = m.to().and_then(|a| a.first()).expect("a To address");
    Parsed {
        subject: m.subject().unwrap_or_default().to_owned(),
        message_id: m.message_id().unwrap_or_default().to_owned(),
        from: m
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned(),
        to: to.address().unwrap_or_default().to_owned(),
        to_name: to.name().map(str::to_owned),
        date: m.date().map(|d| d.to_timestamp()).unwrap_or_default(),
        content_type: format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()),
        text: m.body_text(0).unwrap_or_default().into_owned(),
        html: m.body_html(0).unwrap_or_default().into_owned(),
    }
}

/// The token of the sign-in link `<public_url>/set-password?token=…` in a
/// message body; panics if there is none.
pub fn link_token(body: &str, public_url: &str) -> String {
    try_link_token(body, public_url).unwrap_or_else(|| panic!("no sign-in link in:\n{body}"))
}

/// The token of the sign-in link in a body, if there is one.
pub fn try_link_token(body: &str, public_url: &str) -> Option<String> {
    let marker = format!("{}/set-password?token=", public_url.trim_end_matches('/'));
    let start = body.find(&marker)? + marker.len();
    Some(
        body[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect(),
    )
}
