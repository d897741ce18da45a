//! Who may see and touch which user (SPEC §1 roles, S7 scopes, N9, D8).
//!
//! Every check answers in one of three ways: allowed; `Hidden`, which the
//! web layer turns into 404 so that nothing outside an administrator's scope
//! leaks (S7); or `Forbidden`, for things inside the scope that the role may
//! still not do (an office administrator editing a system administrator).

use crate::{FirmId, OfficeId, Role, Side, UserId};

/// The signed-in user, as far as the rules need to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: UserId,
    pub role: Role,
    pub firm_id: Option<FirmId>,
    pub office_id: Option<OfficeId>,
}

/// The facts about a target user that scopes depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    pub id: &'a UserId,
    pub side: Side,
    pub role: Role,
    pub firm_id: Option<&'a FirmId>,
    pub office_id: Option<&'a OfficeId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// Outside the actor's scope: answer as if it did not exist.
    Hidden,
    /// Inside the scope but not allowed; the message says why.
    Forbidden(&'static str),
}

/// Which users an administrator's lists may show (S7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserScope {
    All,
    /// Company users and firm users attached to this office.
    Office(OfficeId),
    Firm(FirmId),
    /// The role administers no users.
    Nothing,
}

impl Actor {
    pub fn user_scope(&self) -> UserScope {
        match self.role {
            Role::CompanySystemAdministrator => UserScope::All,
            Role::CompanyOfficeAdministrator => match &self.office_id {
                Some(office) => UserScope::Office(office.clone()),
                None => UserScope::Nothing,
            },
            Role::FirmAdministrator => match &self.firm_id {
                Some(firm) => UserScope::Firm(firm.clone()),
                None => UserScope::Nothing,
            },
            _ => UserScope::Nothing,
        }
    }

    /// S7: may the actor see this user at all? Everyone may see themselves.
    pub fn can_see(&self, s: Subject<'_>) -> bool {
        if s.id == &self.id {
            return true;
        }
        match self.user_scope() {
            UserScope::All => true,
            UserScope::Office(office) => s.office_id == Some(&office),
            UserScope::Firm(firm) => s.side == Side::Firm && s.firm_id == Some(&firm),
            UserScope::Nothing => false,
        }
    }

    /// May the actor administer this user: edit, send the new user email
    /// (N9), reset (N5), unlock (S4), deactivate or reactivate (D8)?
    /// Acting on oneself is decided by the caller where it matters (D8).
    pub fn can_manage(&self, s: Subject<'_>) -> Result<(), Denied> {
        if !self.role.is_user_administrator() {
            return Err(if s.id == &self.id {
                Denied::Forbidden("your role does not administer users")
            } else {
                Denied::Hidden
            });
        }
        if !self.can_see(s) {
            return Err(Denied::Hidden);
        }
        if self.role == Role::CompanyOfficeAdministrator && s.role == Role::CompanySystemAdministrator {
            return Err(Denied::Forbidden(
                "office administrators cannot change a company system administrator",
            ));
        }
        if self.role == Role::CompanyOfficeAdministrator && s.side == Side::Firm && s.role != Role::FirmUser {
            return Err(Denied::Forbidden(
                "office administrators manage firm users with the firm_user role only",
            ));
        }
        Ok(())
    }

    /// May the actor give a user on `side`, in `firm`/`office`, this `role`
    /// (when creating a user or changing a role)?
    pub fn can_assign(&self, role: Role, firm_id: Option<&FirmId>, office_id: Option<&OfficeId>) -> Result<(), Denied> {
        match self.role {
            Role::CompanySystemAdministrator => Ok(()),
            Role::CompanyOfficeAdministrator => {
                if self.office_id.is_none() || office_id != self.office_id.as_ref() {
                    return Err(Denied::Forbidden(
                        "office administrators create and edit users of their own office only",
                    ));
                }
                match role {
                    Role::CompanySystemAdministrator => Err(Denied::Forbidden(
                        "office administrators cannot make a company system administrator",
                    )),
                    Role::FirmAdministrator => Err(Denied::Forbidden(
                        "office administrators create firm users with the firm_user role only",
                    )),
                    _ => Ok(()),
                }
            }
            Role::FirmAdministrator => {
                if role.side() != Side::Firm {
                    return Err(Denied::Forbidden("firm administrators create users of their own firm only"));
                }
                if self.firm_id.is_none() || firm_id != self.firm_id.as_ref() {
                    return Err(Denied::Hidden);
                }
                // Offices are the company's: a firm user is attached to one
                // only by a company administrator of it (S7), never by
                // their firm administrator.
                if office_id.is_some() {
                    return Err(Denied::Forbidden(
                        "firm administrators cannot attach users to an office; a company administrator of the office does that",
                    ));
                }
                Ok(())
            }
            _ => Err(Denied::Forbidden("your role does not administer users")),
        }
    }

    pub fn is_system_administrator(&self) -> bool {
        self.role == Role::CompanySystemAdministrator
    }

    /// Whether the actor may add some user on `side`: some role of that
    /// side it may assign within its own scope (`can_assign`), so that the
    /// user list offers only the additions the use case accepts.
    pub fn may_add_users(&self, side: Side) -> bool {
        // Company administrators add users to their office (the system
        // administrator to any or none); firm administrators to no office.
        let office = if self.role.is_company_administrator() {
            self.office_id.as_ref()
        } else {
            None
        };
        Role::ALL
            .iter()
            .filter(|r| r.side() == side)
            .any(|r| self.can_assign(*r, self.firm_id.as_ref(), office).is_ok())
    }
}

/// The parts of the service the pages link to. Each is open to the roles
/// whose use cases answer it (SPEC §1): the navigation and the pages' links
/// are derived from [`Area::open_to`] so that they offer exactly what the
/// API allows the role, and nothing that leads to "not allowed".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Area {
    /// The user list and what hangs off it: users' profiles, new users,
    /// the import, scheduled deactivations (S7 narrows them to the scope).
    Users,
    /// The matters the user takes part in (everyone has this list).
    Matters,
    /// Creating a matter.
    NewMatter,
    /// D9: reassigning the lead company person of many matters at once.
    BulkUpdate,
    /// The office list (an office administrator sees their own office).
    Offices,
    NewOffice,
    /// The firm list (a firm administrator sees their own firm).
    Firms,
    NewFirm,
    ApprovalRoutes,
    Settings,
    Audit,
}

impl Area {
    pub const ALL: [Area; 11] = [
        Area::Users,
        Area::Matters,
        Area::NewMatter,
        Area::BulkUpdate,
        Area::Offices,
        Area::NewOffice,
        Area::Firms,
        Area::NewFirm,
        Area::ApprovalRoutes,
        Area::Settings,
        Area::Audit,
    ];

    /// Whether a holder of `role` may use this area at all; the scope
    /// within it is the use case's (`Actor::user_scope`, `can_manage`).
    pub fn open_to(self, role: Role) -> bool {
        match self {
            Area::Users | Area::Firms => role.is_user_administrator(),
            Area::Matters => true,
            Area::NewMatter => role.may_create_matters(),
            Area::Offices => role.is_company_administrator(),
            Area::BulkUpdate | Area::NewOffice | Area::NewFirm | Area::ApprovalRoutes | Area::Settings | Area::Audit => {
                role == Role::CompanySystemAdministrator
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn actor(role: Role, firm: Option<&str>, office: Option<&str>) -> Actor {
        Actor {
            id: UserId::from("actor"),
            role,
            firm_id: firm.map(FirmId::from),
            office_id: office.map(OfficeId::from),
        }
    }

    struct Target {
        id: UserId,
        role: Role,
        firm: Option<FirmId>,
        office: Option<OfficeId>,
    }

    impl Target {
        fn new(role: Role, firm: Option<&str>, office: Option<&str>) -> Self {
            Self {
                id: UserId::from("target"),
                role,
                firm: firm.map(FirmId::from),
                office: office.map(OfficeId::from),
            }
        }
        fn subject(&self) -> Subject<'_> {
            Subject {
                id: &self.id,
                side: self.role.side(),
                role: self.role,
                firm_id: self.firm.as_ref(),
                office_id: self.office.as_ref(),
            }
        }
    }

    #[test]
    fn firm_administrator_sees_only_their_firm() {
        let a = actor(Role::FirmAdministrator, Some("f1"), None);
        assert!(a.can_manage(Target::new(Role::FirmUser, Some("f1"), None).subject()).is_ok());
        assert_eq!(
            a.can_manage(Target::new(Role::FirmUser, Some("f2"), None).subject()),
            Err(Denied::Hidden)
        );
        assert_eq!(
            a.can_manage(Target::new(Role::CompanyUser, None, Some("o1")).subject()),
            Err(Denied::Hidden)
        );
        assert!(a.can_assign(Role::FirmUser, Some(&FirmId::from("f1")), None).is_ok());
        assert_eq!(a.can_assign(Role::FirmUser, Some(&FirmId::from("f2")), None), Err(Denied::Hidden));
        assert!(a.can_assign(Role::CompanyUser, None, None).is_err());
        assert!(matches!(
            a.can_assign(Role::FirmUser, Some(&FirmId::from("f1")), Some(&OfficeId::from("o1"))),
            Err(Denied::Forbidden(_))
        ));
    }

    #[test]
    fn office_administrator_scope() {
        let a = actor(Role::CompanyOfficeAdministrator, None, Some("o1"));
        assert!(a.can_manage(Target::new(Role::CompanyUser, None, Some("o1")).subject()).is_ok());
        assert_eq!(
            a.can_manage(Target::new(Role::CompanyUser, None, Some("o2")).subject()),
            Err(Denied::Hidden)
        );
        assert!(matches!(
            a.can_manage(Target::new(Role::CompanySystemAdministrator, None, Some("o1")).subject()),
            Err(Denied::Forbidden(_))
        ));
        let o1 = OfficeId::from("o1");
        assert!(a.can_assign(Role::CompanyUser, None, Some(&o1)).is_ok());
        assert!(a.can_assign(Role::FirmUser, Some(&FirmId::from("f")), Some(&o1)).is_ok());
        assert!(a.can_assign(Role::FirmAdministrator, Some(&FirmId::from("f")), Some(&o1)).is_err());
        assert!(a.can_assign(Role::CompanySystemAdministrator, None, Some(&o1)).is_err());
        assert!(a.can_assign(Role::CompanyUser, None, Some(&OfficeId::from("o2"))).is_err());
        assert!(a.can_assign(Role::CompanyUser, None, None).is_err());
    }

    #[test]
    fn roles_without_user_administration_see_only_themselves() {
        for role in [Role::CompanyUser, Role::CompanyMatterCreator, Role::FirmUser] {
            let a = actor(role, Some("f1"), Some("o1"));
            assert_eq!(a.user_scope(), UserScope::Nothing);
            assert_eq!(
                a.can_manage(Target::new(Role::FirmUser, Some("f1"), Some("o1")).subject()),
                Err(Denied::Hidden)
            );
            let me = Subject {
                id: &a.id,
                side: role.side(),
                role,
                firm_id: None,
                office_id: None,
            };
            assert!(a.can_see(me));
        }
    }

    /// SPEC §1's matrix, written out role by role: which areas each role
    /// works in. Every (role, area) pair is checked.
    #[test]
    fn areas_follow_the_role_matrix() {
        use Area::*;
        let expected: [(Role, &[Area]); 6] = [
            // The system administrator works in every area there is.
            (Role::CompanySystemAdministrator, &Area::ALL),
            (Role::CompanyOfficeAdministrator, &[Users, Matters, Offices, Firms]),
            (Role::CompanyMatterCreator, &[Matters, NewMatter]),
            (Role::CompanyUser, &[Matters]),
            (Role::FirmAdministrator, &[Users, Matters, Firms]),
            (Role::FirmUser, &[Matters]),
        ];
        assert_eq!(expected.len(), Role::ALL.len());
        for (role, open) in expected {
            for area in Area::ALL {
                assert_eq!(area.open_to(role), open.contains(&area), "{role:?} {area:?}");
            }
        }
    }

    #[test]
    fn who_may_add_users_of_each_side() {
        let cases = [
            (actor(Role::CompanySystemAdministrator, None, None), true, true),
            (actor(Role::CompanyOfficeAdministrator, None, Some("o1")), true, true),
            // An office administrator without an office administers nobody.
            (actor(Role::CompanyOfficeAdministrator, None, None), false, false),
            (actor(Role::FirmAdministrator, Some("f1"), None), false, true),
            (actor(Role::FirmAdministrator, None, None), false, false),
            (actor(Role::CompanyMatterCreator, None, Some("o1")), false, false),
            (actor(Role::CompanyUser, None, Some("o1")), false, false),
            (actor(Role::FirmUser, Some("f1"), None), false, false),
        ];
        for (a, company, firm) in cases {
            assert_eq!(a.may_add_users(Side::Company), company, "{:?} company", a.role);
            assert_eq!(a.may_add_users(Side::Firm), firm, "{:?} firm", a.role);
        }
    }

    fn any_role() -> impl Strategy<Value = Role> {
        prop::sample::select(Role::ALL.to_vec())
    }
    fn any_ref() -> impl Strategy<Value = Option<&'static str>> {
        prop::option::of(prop::sample::select(vec!["a", "b"]))
    }

    proptest! {
        /// S7 as a property: whatever an actor may manage, it may see; and a
        /// firm administrator never reaches beyond its own firm.
        #[test]
        fn manage_implies_see_and_scopes_hold(ar in any_role(), af in any_ref(), ao in any_ref(), tr in any_role(), tf in any_ref(), to in any_ref()) {
            let a = actor(ar, af, ao);
            let t = Target::new(tr, tf, to);
            if a.can_manage(t.subject()).is_ok() {
                prop_assert!(a.can_see(t.subject()));
                prop_assert!(ar.is_user_administrator());
                if ar == Role::FirmAdministrator {
                    prop_assert!(tr.side() == Side::Firm && tf.is_some() && tf == af);
                }
                if ar == Role::CompanyOfficeAdministrator {
                    prop_assert!(to.is_some() && to == ao);
                    prop_assert!(tr != Role::CompanySystemAdministrator);
                }
            }
            if a.can_assign(tr, t.firm.as_ref(), t.office.as_ref()).is_ok() && ar != Role::CompanySystemAdministrator {
                prop_assert!(tr != Role::CompanySystemAdministrator);
                // Only company administrators attach users to offices.
                if ar == Role::FirmAdministrator {
                    prop_assert!(to.is_none());
                }
            }
        }
    }
}
