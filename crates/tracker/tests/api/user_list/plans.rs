//! P1/P3: every list variant is read from an index in order (the query
//! plans, on both databases).

use super::{assert_plan_is_index_ordered, seeded_user};
use crate::helpers::{spawn_app, user_query};
use domain::access::UserScope;
use domain::{FirmId, OfficeId};
use store::{Org, SortKey, Status, UserQuery};

/// SPEC §5e P1/P3: every sort (both orders) of every organisation × status
/// selector, within every kind of administrator's scope, on page 1 and
/// after a cursor, is read from an index in order: the plan has no scan of
/// `users` without an index and no sort step (SQLite's temporary B-tree,
/// PostgreSQL's Sort). Locked out too: it walks an index of the accounts
/// with a lock on record, in the sort's order (migration 0011). N3's
/// report of the whole company reads N3's own index.
#[tokio::test]
async fn every_list_variant_reads_an_index_in_order() {
    let app = spawn_app().await;
    let running = app.running.as_ref().unwrap();
    let offices = vec![app.office("North").await, app.office("South").await];
    let (f1, _) = app.firm("Firm One", "one@firm.example").await;
    let (f2, _) = app.firm("Firm Two", "two@firm.example").await;
    let firms = vec![f1.clone(), f2];
    let now = running.app.now();
    let mut tx = running.app.db.write().await.unwrap();
    let users: Vec<_> = (0..3_000).map(|i| seeded_user(i, &firms, &offices, now)).collect();
    tx.insert_users(&users).await.unwrap();
    tx.commit().await.unwrap();
    running.app.db.analyze().await.unwrap();

    let scopes = [
        UserScope::All,
        UserScope::Office(OfficeId::from(offices[0].as_str())),
        UserScope::Firm(FirmId::from(f1.as_str())),
    ];
    let orgs = [Org::All, Org::Company, Org::Firms, Org::Firm(FirmId::from(f1.as_str()))];
    let statuses = super::statuses(now);
    let mut checked = 0;
    let mut tx = running.app.db.read().await.unwrap();
    for scope in &scopes {
        for org in &orgs {
            for status in statuses {
                for sort in [SortKey::Name, SortKey::Email, SortKey::LastSignIn] {
                    for descending in [false, true] {
                        if status == Status::NeverEmailed && (sort != SortKey::Name || descending) {
                            continue; // N3's report has one order.
                        }
                        let mut q = UserQuery {
                            sort,
                            descending,
                            ..user_query(scope.clone(), org.clone(), status)
                        };
                        let first = running.app.db.list_users(&q).await.unwrap();
                        for after in [None, first.next.clone()] {
                            q.after = after;
                            let plan = tx.explain_user_page(&q).await.unwrap();
                            let what = format!(
                                "{scope:?} {org:?} {status:?} {sort:?} desc={descending} cursor={}:\n{}",
                                q.after.is_some(),
                                plan.join("\n")
                            );
                            assert_plan_is_index_ordered(&plan, &what);
                            if status == Status::NeverEmailed && *scope == UserScope::All && *org == Org::All {
                                // N3's own index holds only its users; another
                                // index in name order reads 3 users for 1.
                                assert!(plan.join("\n").contains("users_never_emailed_by_name"), "{what}");
                            }
                            if matches!(status, Status::Locked(_)) && tx.dialect() == store::Dialect::Postgres {
                                // The total: the range of accounts locked now,
                                // not every account with a lock on record.
                                assert!(plan.join("\n").contains("using users_locked on users"), "{what}");
                            }
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 300, "{checked} variants");
}
