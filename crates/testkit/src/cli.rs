//! The `tracker` command line as the tests drive it.

use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `create-admin` for "Root Admin" `<email>`, the password on stdin.
/// `tracker` is the binary with the environment the caller wants (data
/// directory, database URL); a failed command fails the test with its
/// output.
pub fn create_admin(mut tracker: Command, email: &str, password: &str) {
    let mut child = tracker
        .args([
            "create-admin",
            "--email",
            email,
            "--first-name",
            "Root",
            "--last-name",
            "Admin",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tracker create-admin");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write the password");
    let out = child.wait_with_output().expect("tracker create-admin ends");
    assert!(
        out.status.success(),
        "create-admin: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
