//! The JSON shapes of the API, kept apart from the domain's types so that
//! the contract of SPEC §8 changes only on purpose.

use app::users::UserDetails;
use domain::model::{ApprovalRoute, Firm, Matter, Office, User};
use serde::Serialize;
use utoipa::ToSchema;

/// A JSON answer written into a buffer sized for it up front. A page of
/// users is tens of kilobytes, which axum's `Json` (starting from 128
/// bytes) reaches through a dozen reallocations, each copying what was
/// written so far: a few per cent of a list request (issue 12 profile).
pub struct SizedJson<T> {
    pub value: T,
    /// The bytes the answer is expected to need.
    pub capacity: usize,
}

impl<T: Serialize> axum::response::IntoResponse for SizedJson<T> {
    fn into_response(self) -> axum::response::Response {
        use axum::http::{header, HeaderValue, StatusCode};
        let mut buf = Vec::with_capacity(self.capacity);
        match serde_json::to_writer(&mut buf, &self.value) {
            Ok(()) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], buf).into_response(),
            // As axum's `Json` answers a value it cannot write.
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }
}

/// RFC 3339 in UTC, from milliseconds since the epoch.
pub fn ts(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

fn ots(ms: Option<i64>) -> Option<String> {
    ms.map(ts)
}

#[derive(Serialize, ToSchema)]
pub struct NewUserEmailOut {
    #[schema(value_type = crate::api::schema::EmailStatusName)]
    pub status: String,
    /// When it was first accepted for delivery; null if never sent.
    #[schema(format = DateTime)]
    pub sent_at: Option<String>,
    pub send_count: i64,
    #[schema(format = DateTime)]
    pub last_change_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct UserOut {
    pub id: String,
    #[schema(format = Email)]
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[schema(value_type = crate::api::schema::SideName)]
    pub side: String,
    pub firm_id: Option<String>,
    pub firm_name: Option<String>,
    pub office_id: Option<String>,
    pub office_name: Option<String>,
    #[schema(value_type = crate::api::schema::RoleName)]
    pub role: String,
    pub active: bool,
    pub activated: bool,
    #[schema(format = DateTime)]
    pub activated_at: Option<String>,
    #[schema(format = DateTime)]
    pub last_sign_in_at: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub deactivated_at: Option<String>,
    pub new_user_email: NewUserEmailOut,
    /// D6: the directory owns this user's lifecycle.
    pub directory_managed: bool,
    pub locked: bool,
    #[schema(format = DateTime)]
    pub locked_until: Option<String>,
    pub lock_reason: Option<String>,
}

impl UserOut {
    /// `directory_managed`: D6/DIR3's answer for `u` ([`User::directory_managed`]).
    pub fn new(u: &User, now: i64, directory_managed: bool) -> Self {
        let locked = u.is_locked(now);
        Self {
            id: u.id.to_string(),
            email: u.email.to_string(),
            first_name: u.first_name.to_string(),
            last_name: u.last_name.to_string(),
            side: u.side.as_str().into(),
            firm_id: u.firm_id.as_ref().map(|f| f.to_string()),
            firm_name: None,
            office_id: u.office_id.as_ref().map(|o| o.to_string()),
            office_name: None,
            role: u.role.as_str().into(),
            active: u.active,
            activated: u.activated_at.is_some(),
            activated_at: ots(u.activated_at),
            last_sign_in_at: ots(u.last_sign_in_at),
            created_at: ts(u.created_at),
            deactivated_at: ots(u.deactivated_at),
            new_user_email: NewUserEmailOut {
                status: u.new_user_email.status.as_str().into(),
                sent_at: ots(u.new_user_email.sent_at),
                send_count: u.new_user_email.send_count,
                last_change_at: ots(u.new_user_email.last_change_at),
            },
            directory_managed,
            locked,
            locked_until: if locked { ots(u.locked_until) } else { None },
            lock_reason: if locked { u.lock_reason.map(|r| r.to_string()) } else { None },
        }
    }

    /// The users of a page of a list, each with what its row carries.
    pub fn page_items(l: &app::users::UserList, now: i64) -> Vec<Self> {
        l.items
            .iter()
            .zip(&l.extras)
            .map(|(u, extras)| {
                let mut out = Self::new(u, now, extras.directory_managed);
                out.firm_name = extras.firm.clone();
                out.office_name = extras.office.clone();
                out
            })
            .collect()
    }

    pub fn details(d: &UserDetails, now: i64) -> Self {
        let mut out = Self::new(&d.user, now, d.directory_managed);
        out.firm_name = d.firm.as_ref().map(|f| f.name.to_string());
        out.office_name = d.office.as_ref().map(|o| o.name.to_string());
        out
    }
}

/// A short reference to a user inside another object.
#[derive(Serialize, ToSchema)]
pub struct UserRef {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub active: bool,
}

impl From<&User> for UserRef {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.to_string(),
            email: u.email.to_string(),
            first_name: u.first_name.to_string(),
            last_name: u.last_name.to_string(),
            active: u.active,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FirmOut {
    pub id: String,
    pub name: String,
    pub active: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Firm> for FirmOut {
    fn from(f: &Firm) -> Self {
        Self {
            id: f.id.to_string(),
            name: f.name.to_string(),
            active: f.active,
            created_at: ts(f.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OfficeOut {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub coordinator_id: Option<String>,
    pub backup_coordinator_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Office> for OfficeOut {
    fn from(o: &Office) -> Self {
        Self {
            id: o.id.to_string(),
            name: o.name.to_string(),
            active: o.active,
            coordinator_id: o.coordinator_id.as_ref().map(|u| u.to_string()),
            backup_coordinator_id: o.backup_coordinator_id.as_ref().map(|u| u.to_string()),
            created_at: ts(o.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MatterOut {
    pub id: String,
    pub name: String,
    pub number: String,
    pub lead_company_person_id: String,
    pub open_for_editing: bool,
    pub open_for_invoicing: bool,
    /// Open for editing or for invoicing.
    pub open: bool,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&Matter> for MatterOut {
    fn from(m: &Matter) -> Self {
        Self {
            id: m.id.to_string(),
            name: m.name.to_string(),
            number: m.number.clone(),
            lead_company_person_id: m.lead_company_person_id.to_string(),
            open_for_editing: m.open_for_editing,
            open_for_invoicing: m.open_for_invoicing,
            open: m.is_open(),
            created_at: ts(m.created_at),
            updated_at: ts(m.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ParticipantOut {
    pub user_id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    #[schema(value_type = crate::api::schema::SideName)]
    pub side: String,
    #[schema(value_type = crate::api::schema::MatterRoleName)]
    pub role: String,
    pub receives_notifications: bool,
    /// D2: shown as *User Deactivated*.
    pub user_deactivated: bool,
    #[schema(format = DateTime)]
    pub added_at: String,
}

impl From<&store::ParticipantView> for ParticipantOut {
    fn from(p: &store::ParticipantView) -> Self {
        Self {
            user_id: p.user.id.to_string(),
            email: p.user.email.to_string(),
            first_name: p.user.first_name.to_string(),
            last_name: p.user.last_name.to_string(),
            side: p.user.side.as_str().into(),
            role: p.participant.role.as_str().into(),
            receives_notifications: p.participant.receives_notifications,
            user_deactivated: !p.user.active,
            added_at: ts(p.participant.added_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LevelOut {
    pub primary_approver_id: String,
    pub alternate_approver_id: Option<String>,
    pub delegate_ids: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RouteOut {
    pub id: String,
    pub name: String,
    pub active: bool,
    pub levels: Vec<LevelOut>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&ApprovalRoute> for RouteOut {
    fn from(r: &ApprovalRoute) -> Self {
        Self {
            id: r.id.to_string(),
            name: r.name.to_string(),
            active: r.active,
            levels: r
                .levels
                .iter()
                .map(|l| LevelOut {
                    primary_approver_id: l.primary_approver_id.to_string(),
                    alternate_approver_id: l.alternate_approver_id.as_ref().map(|u| u.to_string()),
                    delegate_ids: l.delegate_ids.iter().map(|d| d.to_string()).collect(),
                })
                .collect(),
            created_at: ts(r.created_at),
            updated_at: ts(r.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditOut {
    pub id: i64,
    #[schema(format = DateTime)]
    pub at: String,
    pub actor_id: Option<String>,
    pub actor: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub source_ip: Option<String>,
}

impl From<&store::AuditRecord> for AuditOut {
    fn from(r: &store::AuditRecord) -> Self {
        let parse = |s: &Option<String>| s.as_deref().and_then(|s| serde_json::from_str(s).ok());
        Self {
            id: r.id,
            at: ts(r.at),
            actor_id: r.actor_id.clone(),
            actor: r.actor_label.clone(),
            action: r.action.clone(),
            target_kind: r.target_kind.clone(),
            target_id: r.target_id.clone(),
            before: parse(&r.before_json),
            after: parse(&r.after_json),
            source_ip: r.source_ip.clone(),
        }
    }
}

/// A1: what a walk of the audit hash chain found.
#[derive(Serialize, ToSchema)]
pub struct AuditVerifyOut {
    /// Every entry is in place and unaltered, and the head matches.
    pub ok: bool,
    /// Entries in the audit log.
    pub entries: i64,
    /// The chain head's hash (64 hex digits): write it down as an anchor.
    pub head_hash: String,
    /// The first entry that is missing, altered, inserted or out of place.
    pub first_bad_seq: Option<i64>,
}

impl From<&store::ChainReport> for AuditVerifyOut {
    fn from(r: &store::ChainReport) -> Self {
        Self {
            ok: r.ok,
            entries: r.entries,
            head_hash: r.head_hash.clone(),
            first_bad_seq: r.first_bad_seq,
        }
    }
}

/// SPEC §8 lists.
#[derive(Serialize, ToSchema)]
pub struct ListOut<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

impl<T> ListOut<T> {
    pub fn of<S>(l: &app::Listing<S>, f: impl Fn(&S) -> T) -> Self {
        Self {
            items: l.items.iter().map(f).collect(),
            total: l.total,
            page: l.page.page,
            per_page: l.page.per_page,
        }
    }
}
