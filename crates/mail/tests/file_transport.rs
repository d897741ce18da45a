//! SPEC §6: without `TRACKER_SMTP_URL`, each message becomes an `.eml` file
//! in the data directory's `outbox/` folder.

mod support;

use domain::secret::hash_token;
use serde_json::json;
use store::MailKind;
use support::{env, link_token, parse, START};

#[tokio::test]
async fn without_smtp_each_message_is_written_as_an_eml_file_named_by_its_row() {
    let env = env().await;
    let ann = env.add_user("ann@example.com", "Ann", "Lee", true).await;
    let welcome = env.enqueue(MailKind::NewUserEmail, Some(&ann), "ann@example.com", json!({})).await;
    let added = env
        .enqueue(
            MailKind::MatterAdded,
            Some(&ann),
            "ann@example.com",
            json!({"matter_id": "m1", "matter_name": "Lease", "matter_number": "M-1", "role": "matter_reader"}),
        )
        .await;
    let worker = env.worker(None, |_| {});

    let tally = worker.run_once().await.unwrap();

    assert_eq!(tally.sent, 2);
    let outbox = env.dir.path().join("outbox");
    let mut names: Vec<String> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [format!("{welcome:010}-new_user_email.eml"), format!("{added:010}-matter_added.eml")],
        "no temporary files left"
    );

    let raw = std::fs::read_to_string(outbox.join(&names[0])).unwrap();
    let m = parse(&raw);
    assert_eq!(m.message_id, format!("tracker.{welcome}.{START}@legal.example.com"));
    assert_eq!(
        (m.to.as_str(), m.content_type.as_str()),
        ("ann@example.com", "multipart/alternative")
    );
    let token = link_token(&m.text);
    assert!(env.db.read().await.unwrap().link(&hash_token(&token)).await.unwrap().is_some());
    assert!(parse(&std::fs::read_to_string(outbox.join(&names[1])).unwrap())
        .text
        .contains("Your role: Matter reader"));
    assert_eq!(env.outbox(welcome).await.status.as_str(), "sent");
    assert_eq!(env.user(&ann).await.new_user_email.send_count, 1);
}

#[tokio::test]
async fn an_unwritable_outbox_folder_is_a_transient_failure() {
    let env = env().await;
    let id = env
        .enqueue(
            MailKind::MatterClosed,
            None,
            "ops@example.com",
            json!({"matter_id": "m", "matter_name": "n", "matter_number": "1", "closed_for": "editing"}),
        )
        .await;
    let worker = env.worker(None, |_| {});
    // The folder disappears and a file takes its name: nothing can be
    // written into it until an operator fixes it.
    let outbox = env.dir.path().join("outbox");
    std::fs::remove_dir(&outbox).unwrap();
    std::fs::write(&outbox, b"not a folder").unwrap();

    assert_eq!(worker.run_once().await.unwrap().retried, 1);

    let row = env.outbox(id).await;
    assert_eq!(row.status.as_str(), "queued");
    assert!(row.last_error.unwrap_or_default().contains("cannot write"));
}
