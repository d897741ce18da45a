//! The web UI in a real browser: Debian's headless Chromium driven through
//! chromedriver (WebDriver) by fantoccini, against Tracker started in
//! process with a real SMTP server, so the emails really arrive and their
//! links are followed like a person would.
//!
//! One test walks every flow in order with one browser (each Chromium costs
//! memory; the machine has two cores). It installs nothing: `scripts/test.sh`
//! installs `chromium` and `chromium-driver`. Without them the test fails
//! and says so; it never skips. Screenshots go to `test-output/`.

mod browser;
mod idp;

use app::matters::MatterInput;
use app::offices::OfficeInput;
use app::routes::{LevelInput, RouteInput};
use app::users::NewUser;
use app::Ctx;
use browser::Browser;
use std::time::Duration;
use testkit::smtp_sink::SmtpSink;
use tracker::config::{ServeConfig, Storage};

const ADMIN_EMAIL: &str = "root@company.example";
const PASSWORD: &str = "Str0ng-Passw0rd!";
const NEW_PASSWORD: &str = "Brand-new-Passw0rd!";
const HELD_EMAIL: &str = "hannah.held@company.example";
const LEAD_EMAIL: &str = "lena.lead@company.example";
const NEXT_EMAIL: &str = "nora.next@company.example";

/// What the scenario set up behind the pages.
struct World {
    url: String,
    lead_id: String,
    route_id: String,
    matter_id: String,
}

/// A company user created by the operator (held: nobody is emailed).
async fn company_user(app: &app::App, email: &str, first: &str, last: &str) -> String {
    let input = NewUser {
        email: email.into(),
        first_name: first.into(),
        last_name: last.into(),
        role: "company_user".into(),
        hold_new_user_email: true,
        ..Default::default()
    };
    app.create_user(&Ctx::operator(), input).await.expect("user").user.id.to_string()
}

/// Lena leads two open matters, coordinates an office and approves on a
/// route: four blockers of D3. Nora will take over.
async fn seed(app: &app::App, admin: &Ctx) -> (String, String, String) {
    let lead = company_user(app, LEAD_EMAIL, "Lena", "Lead").await;
    company_user(app, NEXT_EMAIL, "Nora", "Next").await;
    let mut first_matter = String::new();
    for (name, number) in [("Acme v. Globex", "M-1001"), ("Harbour lease renewal", "M-1002")] {
        let m = app
            .create_matter(
                admin,
                MatterInput {
                    name: Some(name.into()),
                    number: Some(number.into()),
                    lead_company_person_id: Some(lead.clone()),
                    ..Default::default()
                },
            )
            .await
            .expect("matter");
        if first_matter.is_empty() {
            first_matter = m.id.to_string();
        }
    }
    app.create_office(
        admin,
        OfficeInput {
            name: Some("Berlin".into()),
            coordinator_id: Some(Some(lead.clone())),
            ..Default::default()
        },
    )
    .await
    .expect("office");
    let route = app
        .create_route(
            admin,
            RouteInput {
                name: Some("Outside counsel invoices".into()),
                active: Some(true),
                levels: Some(vec![LevelInput {
                    primary_approver_id: lead.clone(),
                    ..Default::default()
                }]),
            },
        )
        .await
        .expect("route");
    (lead, route.id.to_string(), first_matter)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_administration_in_a_real_browser() {
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = ServeConfig {
        storage: Storage {
            data_dir: dir.path().to_path_buf(),
            database_url: None,
        },
        listen: "127.0.0.1:0".into(),
        public_url: None,
        smtp_url: Some(sink.url()),
        mail_from: "Tracker <tracker@test.example>".into(),
        demo: false,
        test_clock: false,
        http: Default::default(),
        ops: Default::default(),
    };
    let running = tracker::start(&cfg).await.expect("Tracker starts");
    let app = running.app.clone();
    let admin = app
        .create_admin(ADMIN_EMAIL, "Root", "Admin", Some(PASSWORD.into()))
        .await
        .expect("admin");
    let admin_ctx = Ctx::user(&admin.user, None);
    let (lead_id, route_id, matter_id) = seed(&app, &admin_ctx).await;
    let world = World {
        url: running.public_url.clone(),
        lead_id,
        route_id,
        matter_id,
    };

    let browser = Browser::start().await;
    let outcome = tokio::spawn(scenario(browser.clone(), world, sink)).await;
    browser.finish(outcome).await;
    running.shutdown().await.expect("Tracker stops");
}

async fn scenario(b: Browser, w: World, sink: SmtpSink) {
    let url = |path: &str| format!("{}{path}", w.url);

    // Sign in: a page that needs it sends the person there and back.
    b.goto(&url("/users")).await;
    b.expect_path("/sign-in").await;
    b.fill("input[name=email]", ADMIN_EMAIL).await;
    b.fill("input[name=password]", PASSWORD).await;
    b.click("form[action='/sign-in'] button[type=submit]").await;
    b.expect_path("/users").await;
    b.expect_text("User list").await;

    // Add a company user with the new user email held; a taken email is
    // refused next to the field, with the input kept.
    b.click_link("Add company user").await;
    b.expect_text("Hold user notification until I specify or user is added to a matter")
        .await;
    b.fill("input[name=first_name]", "Hannah").await;
    b.fill("input[name=last_name]", "Held").await;
    b.fill("input[name=email]", ADMIN_EMAIL).await;
    b.set_checkbox("input[name=hold_new_user_email]", true).await;
    b.click("button.primary").await;
    b.expect_text_in(".field-error", "already exists").await;
    assert_eq!(b.value("input[name=first_name]").await, "Hannah", "the input is kept");
    assert!(b.is_checked("input[name=hold_new_user_email]").await, "the hold checkbox is kept");
    b.fill("input[name=email]", HELD_EMAIL).await;
    b.click("button.primary").await;
    b.expect_path("/users").await;
    b.expect_text_in(".notice.ok", "held").await;
    b.expect_text_in(&format!("tr[data-email='{HELD_EMAIL}']"), "Email held").await;
    b.screenshot("user-list").await;
    let early: Vec<Vec<String>> = sink.messages().into_iter().map(|m| m.rcpt_to).collect();
    assert!(
        early.iter().flatten().all(|r| !r.contains(HELD_EMAIL)),
        "a held user is not emailed: {early:?}"
    );

    // Email new users: the report, then Send.
    b.click("details.menu > summary").await;
    b.click_link("Email new users").await;
    b.expect_path("/users/email-new-users").await;
    b.expect_text_in("#pending", HELD_EMAIL).await;
    b.expect_text_in("#pending", NEXT_EMAIL).await;
    b.screenshot("email-new-users").await;
    b.click("form[action='/users/email-new-users'] button.primary").await;
    b.expect_path("/users").await;
    b.expect_text_in(".notice.ok", "being sent to 2 user(s)").await;
    let link = browser::wait_for_link(&sink, HELD_EMAIL).await;
    assert!(link.starts_with(&w.url), "the link points at Tracker: {link}");
    // Nobody is left: the report says so, in the seed's words.
    b.goto(&url("/users/email-new-users")).await;
    b.expect_text("New user emails have already been sent to all users in the system.")
        .await;

    // The emailed link: the policy, a new password, then sign in as Hannah.
    b.click("form[action='/sign-out'] button").await;
    b.expect_path("/sign-in").await;
    b.goto(&link).await;
    b.expect_text("Password rules").await;
    b.expect_text("At least 12 characters").await;
    b.screenshot("set-password").await;
    b.fill("input[name=password]", NEW_PASSWORD).await;
    b.fill("input[name=confirm]", NEW_PASSWORD).await;
    b.click("form[action='/set-password'] button").await;
    b.expect_path("/sign-in").await;
    b.expect_text("Your password is set").await;
    assert_eq!(b.value("input[name=email]").await, HELD_EMAIL, "the sign-in page knows who it is");
    b.fill("input[name=password]", NEW_PASSWORD).await;
    b.click("form[action='/sign-in'] button[type=submit]").await;
    b.expect_path("/matters").await;
    b.expect_text_in(".topbar", "Hannah Held").await;
    // A used link says so, and what to do.
    b.goto(&link).await;
    b.expect_text("already been used").await;
    b.expect_text("Ask your Tracker administrator").await;
    b.goto(&url("/matters")).await;
    b.click("form[action='/sign-out'] button").await;

    // Back as the administrator: deactivating a lead shows every blocker.
    b.goto(&url("/users")).await;
    b.fill("input[name=email]", ADMIN_EMAIL).await;
    b.fill("input[name=password]", PASSWORD).await;
    b.click("form[action='/sign-in'] button[type=submit]").await;
    b.expect_path("/users").await;
    b.click(&format!("tr[data-email='{LEAD_EMAIL}'] a")).await;
    b.expect_text("User Administrative Profile").await;
    b.set_checkbox("input[name=active]", false).await;
    b.click_button("Save & close").await;
    b.expect_text("Lena Lead cannot be deactivated yet").await;
    let blockers = b.texts("#blockers li").await;
    assert_eq!(blockers.len(), 4, "every blocker is listed: {blockers:?}");
    for expected in [
        "Acme v. Globex",
        "Harbour lease renewal",
        "Office/region Berlin",
        "Outside counsel invoices, level 1",
    ] {
        assert!(
            blockers.iter().any(|t| t.contains(expected)),
            "{expected} is among the blockers: {blockers:?}"
        );
    }
    assert_eq!(b.count("#blockers a[href^='/matters/']").await, 2, "each matter links to its page");
    assert_eq!(
        b.count("#blockers li a[href^='/bulk-update/lead-company-person?from=']").await,
        2,
        "each lead blocker offers the bulk update"
    );
    assert_eq!(b.count("#blockers a[href^='/offices/']").await, 1);
    assert_eq!(b.count(&format!("#blockers a[href='/approval-routes/{}']", w.route_id)).await, 1);
    assert!(!b.is_checked("input[name=active]").await, "the form keeps what was asked");
    b.screenshot("blocked-deactivation").await;

    // Clear the office from its blocker's link.
    b.click("#blockers a[href^='/offices/']").await;
    b.expect_text("Office Berlin").await;
    b.select("select[name=coordinator_id]", "").await;
    b.click_button("Save & close").await;
    b.expect_path("/offices").await;
    b.expect_text_in(".notice.ok", "Berlin is saved").await;

    // Then the route: Nora becomes its primary approver.
    let nora = b
        .option_value_containing(&format!("/approval-routes/{}", w.route_id), "select[name=primary_0]", NEXT_EMAIL)
        .await;
    b.select("select[name=primary_0]", &nora).await;
    b.click_button("Save & close").await;
    b.expect_path("/approval-routes").await;

    // The two matters remain; the bulk update clears them in one step.
    b.goto(&url(&format!("/users/{}", w.lead_id))).await;
    b.set_checkbox("input[name=active]", false).await;
    b.click_button("Save & close").await;
    // Wait for the refused save's page before counting what it lists.
    b.expect_text("reassign all of them at once").await;
    assert_eq!(b.texts("#blockers li").await.len(), 2, "only the matters are left");
    b.click("#blockers .bulk a").await;
    b.expect_path("/bulk-update/lead-company-person").await;
    assert_eq!(
        b.count("#led-matters input[name=matter_ids]:checked").await,
        2,
        "both matters are chosen"
    );
    b.select("select[name=to_user_id]", &nora).await;
    b.screenshot("bulk-update").await;
    b.click_button("Reassign lead company person").await;
    b.expect_path(&format!("/users/{}", w.lead_id)).await;
    b.expect_text_in(".notice.ok", "2 matter(s) now have Nora Next as lead company person")
        .await;
    b.set_checkbox("input[name=active]", false).await;
    b.click_button("Save & close").await;
    b.expect_path("/users").await;
    b.expect_text_in(".notice.ok", "Lena Lead is deactivated").await;
    assert_eq!(
        b.count(&format!("tr[data-email='{LEAD_EMAIL}']")).await,
        0,
        "the default view shows active users only"
    );

    // The inactive view: All users, Inactive users, Change view.
    b.select("select[name=org]", "all").await;
    b.select("select[name=status]", "inactive").await;
    b.click_button("Change view").await;
    b.expect_text_in(&format!("tr[data-email='{LEAD_EMAIL}']"), "Inactive").await;
    assert_eq!(b.count("#users tbody tr").await, 1, "only Lena is inactive");
    b.screenshot("inactive-view").await;

    // She stays on her matters, marked User Deactivated.
    b.goto(&url(&format!("/matters/{}", w.matter_id))).await;
    b.expect_text_in("#participants", "User Deactivated").await;
    b.screenshot("matter-participants").await;

    // Reactivate from the profile.
    b.goto(&url("/users?status=inactive")).await;
    b.click(&format!("tr[data-email='{LEAD_EMAIL}'] a")).await;
    b.set_checkbox("input[name=active]", true).await;
    b.click_button("Save & close").await;
    b.expect_text_in(".notice.ok", "Lena Lead is active again").await;
    b.expect_text_in(&format!("tr[data-email='{LEAD_EMAIL}']"), "Active").await;

    // Her history has it all.
    b.click(&format!("tr[data-email='{LEAD_EMAIL}'] a")).await;
    b.click("details.menu > summary").await;
    b.click_link("View history").await;
    for action in ["Reactivated", "Deactivated", "User created", "New user email sent"] {
        b.expect_text_in("#history", action).await;
    }

    // Reset password asks first, then sends a fresh link.
    let before = sink.messages().len();
    b.goto(&url(&format!("/users/{}", w.lead_id))).await;
    b.click("details.menu > summary").await;
    b.click_link("Reset password").await;
    b.expect_text("Reset password?").await;
    b.click_button("Reset password").await;
    b.expect_text_in(".notice.ok", "password is reset").await;
    sink.wait_for(before + 1, Duration::from_secs(15)).await;

    // Offboarding in one step (O4): Nora now leads both matters and
    // approves on the route; from her profile's ⋯ menu, Hannah takes it all
    // over as the default successor, previewed, then confirmed.
    b.goto(&url("/users")).await;
    b.click(&format!("tr[data-email='{NEXT_EMAIL}'] a")).await;
    b.expect_text("User Administrative Profile").await;
    b.click("details.menu > summary").await;
    b.click_link("Offboard…").await;
    b.expect_text("Lead company person of 2 open matters").await;
    b.expect_text("Primary approver on 1 route level").await;
    let offboard = b.path().await;
    assert!(offboard.ends_with("/offboard"), "{offboard}");
    let hannah = b
        .option_value_containing(&offboard, "select[name=default_successor_id]", HELD_EMAIL)
        .await;
    b.select("select[name=default_successor_id]", &hannah).await;
    b.screenshot("offboard").await;
    b.click_button("Preview").await;
    b.expect_text("Offboard Nora Next now?").await;
    assert_eq!(b.count("#preview tbody tr").await, 3, "every item is previewed");
    b.expect_text_in("#preview", "Hannah Held").await;
    b.screenshot("offboard-preview").await;
    b.click_button("Confirm").await;
    b.expect_text_in(".notice.ok", "Nora Next is deactivated; 3 responsibilities were handed over")
        .await;
    b.goto(&url("/scheduled-deactivations")).await;
    b.expect_text("No deactivation is scheduled.").await;

    // Import users (A3): a file with a problem is reported row by row and
    // creates nothing; fixed, it is checked, confirmed and imported.
    let files = tempfile::tempdir().unwrap();
    let header = "email,first_name,last_name,side,firm,office,role,hold_new_user_email\r\n";
    let bad = files.path().join("people.csv");
    std::fs::write(
        &bad,
        format!("{header}ines.import@company.example,Inès,Import,company,,Atlantis,company_user,true\r\nomar.import@company.example,Omar,\"Import, Jr.\",company,,Berlin,company_user,true\r\n"),
    )
    .unwrap();
    b.goto(&url("/users")).await;
    b.click("details.menu > summary").await;
    b.click_link("Import users").await;
    b.expect_path("/users/import").await;
    b.choose_file("#import-file", &bad).await;
    b.click("#import-check").await;
    b.expect_text_in("#import-errors", "unknown_office").await;
    let report = b.texts("#import-errors tbody td").await;
    assert_eq!(report.len(), 4, "one problem: {report:?}");
    assert_eq!(
        (report[0].as_str(), report[1].as_str(), report[3].as_str()),
        ("2", "office", "unknown_office")
    );
    b.screenshot("import-report").await;
    let fixed = files.path().join("people-fixed.csv");
    std::fs::write(
        &fixed,
        format!("{header}ines.import@company.example,Inès,Import,company,,,company_user,true\r\nomar.import@company.example,Omar,\"Import, Jr.\",company,,Berlin,company_user,true\r\n"),
    )
    .unwrap();
    b.choose_file("#import-file", &fixed).await;
    b.click("#import-check").await;
    b.expect_text_in("#import-ready", "All 2 rows of people-fixed.csv are valid").await;
    assert_eq!(b.count("#import-errors").await, 0);
    b.click_button("Import 2 users").await;
    b.expect_path("/users").await;
    b.expect_text_in(".notice.ok", "2 users were imported").await;
    b.expect_text_in("tr[data-email='ines.import@company.example']", "Inès").await;
    b.expect_text_in("tr[data-email='omar.import@company.example']", "Import, Jr., Omar")
        .await;

    // Download CSV (A2) on the user list and the audit log.
    b.click("#download-csv").await;
    let users = b.downloaded("users.csv").await;
    assert!(users.starts_with("id,email,first_name,last_name"), "{users}");
    assert!(
        users.contains("omar.import@company.example,Omar,\"Import, Jr.\",company,,Berlin"),
        "{users}"
    );
    b.goto(&url("/audit")).await;
    b.click("#download-csv").await;
    let audit = b.downloaded("audit.csv").await;
    assert!(audit.starts_with("id,at,actor_id,actor,action"), "{audit}");
    assert!(audit.contains("export.users"), "the user export is audited: {audit}");

    // Single sign-on (SSO1): the administrator registers the company's
    // identity provider in Settings; Hannah then signs in through the
    // provider's own login page and is back in Tracker, signed in.
    let idp = idp::start(&w.url, &[("sub-hannah", HELD_EMAIL)], NEW_PASSWORD).await;
    b.goto(&url("/settings")).await;
    b.expect_text("Single sign-on").await;
    b.fill("input[name=sso_issuer]", &idp.issuer).await;
    b.fill("input[name=sso_client_id]", idp::CLIENT_ID).await;
    b.fill("input[name=sso_client_secret]", idp::CLIENT_SECRET).await;
    b.click_button("Save").await;
    b.expect_text_in(".notice.ok", "The settings are saved.").await;
    assert_eq!(
        b.value("input[name=sso_client_secret]").await,
        "",
        "the secret is never shown again"
    );
    b.click("form[action='/sign-out'] button").await;
    b.expect_path("/sign-in").await;
    b.screenshot("sign-in-with-sso").await;
    b.click_link("Sign in with The Company").await;
    b.expect_text("Test identity provider").await;
    assert!(b.path().await.starts_with("/interaction/"), "at the provider's login page");
    b.fill("#idp-login", HELD_EMAIL).await;
    b.fill("#idp-password", NEW_PASSWORD).await;
    b.click("#idp-submit").await;
    b.expect_text_in(".topbar", "Hannah Held").await;
    assert!(b.url().await.starts_with(&w.url), "back in Tracker after the provider's login page");
}
