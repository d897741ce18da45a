//! Shared by the per-database test binaries: audit entries appended in
//! bulk (PostgreSQL streams them with COPY from `AUDIT_COPY_FROM` entries
//! a transaction, in COPY's text format) come back exactly as written,
//! whatever characters their texts hold, and chained.

use store::{AuditEntry, AuditQuery, Db, AUDIT_COPY_FROM};

/// Texts that COPY's text format must escape or could mistake for NULL.
const AWKWARD: [&str; 9] = [
    "tab\there",
    "line\nbreak",
    "carriage\rreturn",
    "back\\slash",
    "\\N",
    "\\.",
    "",
    "Zoë Ñúñez — 東京",
    "{\"note\":\"a \\\"quoted\\\" \\\\ value\\n\"}",
];

fn entry(i: usize) -> AuditEntry {
    let awkward = |k: usize| AWKWARD[(i + k) % AWKWARD.len()].to_owned();
    AuditEntry {
        at: 1_700_000_000_000 + i as i64,
        actor_id: (!i.is_multiple_of(3)).then(|| format!("actor-{}", i % 7)),
        actor_label: awkward(0),
        action: format!("test.bulk_{}", i % 5),
        target_kind: "user",
        target_id: (!i.is_multiple_of(4)).then(|| awkward(1)),
        before: i.is_multiple_of(2).then(|| awkward(2)),
        after: Some(awkward(3)),
        source_ip: i.is_multiple_of(5).then(|| awkward(4)),
    }
}

/// Appends a bulk and a small batch in two transactions, then reads every
/// entry back and verifies the chain.
pub async fn bulk_audit_entries_come_back_as_written(db: &Db) {
    let bulk = AUDIT_COPY_FROM + 501;
    let written: Vec<AuditEntry> = (0..bulk + 3).map(entry).collect();
    let mut before = db.read().await.unwrap();
    let (head_before, _) = before.audit_head().await.unwrap();
    drop(before);
    for batch in [&written[..bulk], &written[bulk..]] {
        let mut tx = db.write().await.unwrap();
        tx.audit_many(batch.to_vec()).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut tx = db.read().await.unwrap();
    let report = tx.verify_audit_chain().await.unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.head_seq, head_before + written.len() as i64);
    let mut read = tx
        .audit_page(&AuditQuery {
            limit: written.len() as i64,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    read.reverse();
    assert_eq!(read.len(), written.len());
    for (i, (w, r)) in written.iter().zip(&read).enumerate() {
        let got = (
            r.at,
            r.actor_id.as_deref(),
            r.actor_label.as_str(),
            r.action.as_str(),
            r.target_kind.as_str(),
            r.target_id.as_deref(),
            r.before_json.as_deref(),
            r.after_json.as_deref(),
            r.source_ip.as_deref(),
        );
        let want = (
            w.at,
            w.actor_id.as_deref(),
            w.actor_label.as_str(),
            w.action.as_str(),
            w.target_kind,
            w.target_id.as_deref(),
            w.before.as_deref(),
            w.after.as_deref(),
            w.source_ip.as_deref(),
        );
        assert_eq!(got, want, "entry {i}");
    }
}
