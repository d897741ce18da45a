//! Turning a rendered [`Letter`] into an RFC 5322 message.

use crate::error::Failure;
use crate::render::Letter;
use domain::Millis;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::Message;
use std::time::{Duration, SystemTime};

/// Which outbox row a message comes from; it names the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutboxRef {
    pub id: i64,
    pub created_at: Millis,
}

/// The Message-ID of an outbox row: the same on every attempt, so that a
/// copy delivered twice (see the crate documentation) is recognised as one
/// message by mail clients. The creation time keeps ids of two deployments
/// that share a sender domain apart, since both count rows from 1.
pub(crate) fn message_id(row: OutboxRef, from: &Mailbox) -> String {
    format!("<tracker.{}.{}@{}>", row.id, row.created_at, from.email.domain())
}

/// A multipart/alternative message (text first, HTML preferred by clients
/// that show it) with the headers every message carries.
pub(crate) fn compose(row: OutboxRef, from: &Mailbox, to: Mailbox, letter: &Letter, now: Millis) -> Result<Message, Failure> {
    let date = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(now).unwrap_or(0));
    Message::builder()
        .message_id(Some(message_id(row, from)))
        .date(date)
        .from(from.clone())
        .to(to)
        .subject(letter.subject.clone())
        .header(AutoSubmitted)
        .multipart(MultiPart::alternative_plain_html(letter.text.clone(), letter.html.clone()))
        .map_err(|e| Failure::Permanent(format!("cannot build the message: {e}")))
}

/// `Auto-Submitted: auto-generated` (RFC 3834): tells mail servers and
/// clients not to answer with vacation or out-of-office replies.
#[derive(Debug, Clone, Copy)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter() -> Letter {
        Letter {
            subject: "Héllo".into(),
            text: "plain body".into(),
            html: "<p>html body</p>".into(),
        }
    }

    #[test]
    fn message_id_depends_only_on_the_row_and_sender_domain() {
        let from: Mailbox = "Tracker <tracker@legal.example.com>".parse().unwrap();
        let row = OutboxRef {
            id: 42,
            created_at: 1_700_000_000_000,
        };
        assert_eq!(message_id(row, &from), "<tracker.42.1700000000000@legal.example.com>");
        let other = OutboxRef { id: 43, ..row };
        assert_ne!(message_id(row, &from), message_id(other, &from));
    }

    #[test]
    fn composed_message_has_headers_and_both_parts() {
        let from: Mailbox = "Tracker <tracker@legal.example.com>".parse().unwrap();
        let to: Mailbox = "Ann <ann@example.com>".parse().unwrap();
        let row = OutboxRef { id: 7, created_at: 5 };
        let raw = String::from_utf8(compose(row, &from, to, &letter(), 1_700_000_000_000).unwrap().formatted()).unwrap();
        for needle in [
            "Message-ID: <tracker.7.5@legal.example.com>",
            "Date: Tue, 14 Nov 2023 22:13:20 +0000",
            "From: Tracker <tracker@legal.example.com>",
            "To: Ann <ann@example.com>",
            "Auto-Submitted: auto-generated",
            "multipart/alternative",
            "text/plain",
            "text/html",
        ] {
            assert!(raw.contains(needle), "missing {needle} in:\n{raw}");
        }
        assert!(!raw.contains("Subject: Héllo"), "non-ASCII subjects must be encoded:\n{raw}");
    }
}
