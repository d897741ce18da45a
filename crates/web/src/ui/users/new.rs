//! Adding a company or firm user (N1: the new user email goes out at
//! once unless held).

use crate::ui::page::{
    form_problem, given, ok, redirect_with, render, role_label, ticked, Choice, Flash, FormErrors, Layout, OrgPicker, PageError,
    PageResult, Posted, Session,
};
use app::users::NewUser;
use app::App;
use askama::Template;
use axum::extract::{Query, State};
use domain::{Role, Side};
use serde::Deserialize;

/// The add-user form's values, kept when it comes back with errors.
#[derive(Deserialize, Default, Clone)]
pub struct NewUserForm {
    #[serde(default)]
    side: String,
    #[serde(flatten)]
    person: super::PersonFields,
    firm_id: Option<String>,
    office_id: Option<String>,
    hold_new_user_email: Option<String>,
}

#[derive(Template)]
#[template(path = "users/new.html")]
struct NewUserPage {
    layout: Layout,
    errors: FormErrors,
    firm_side: bool,
    f: NewUserForm,
    hold: bool,
    roles: Vec<Choice>,
    firms: OrgPicker,
    offices: OrgPicker,
}

#[derive(Deserialize, Default)]
pub struct SideQuery {
    side: Option<String>,
}

fn roles_for(side: Side, selected: &str) -> Vec<Choice> {
    Role::ALL
        .iter()
        .filter(|r| r.side() == side)
        .map(|r| Choice::new(r.as_str(), role_label(*r), r.as_str() == selected))
        .collect()
}

async fn new_user_page(app: &App, s: &Session, f: NewUserForm, errors: FormErrors) -> Result<NewUserPage, PageError> {
    let firm_side = f.side == "firm";
    let side = if firm_side { Side::Firm } else { Side::Company };
    let default_role = if firm_side { Role::FirmUser } else { Role::CompanyUser };
    let role = if f.person.role.is_empty() {
        default_role.as_str().to_owned()
    } else {
        f.person.role.clone()
    };
    let firm_sel = f.firm_id.clone().unwrap_or_default();
    let office_sel = f.office_id.clone().unwrap_or_default();
    let firms = if firm_side {
        OrgPicker::firms(app, s, &firm_sel).await?
    } else {
        OrgPicker::default()
    };
    let offices = OrgPicker::offices(app, s, &office_sel).await?;
    let title = if firm_side { "Add firm user" } else { "Add company user" };
    let hold = ticked(&f.hold_new_user_email);
    Ok(NewUserPage {
        layout: s.layout(title, "users"),
        errors,
        firm_side,
        roles: roles_for(side, &role),
        firms,
        offices,
        hold,
        f,
    })
}

/// Only for user administrators, as `POST /users` answers 403 to others.
pub async fn new_page(State(app): State<App>, s: Session, Query(q): Query<SideQuery>) -> PageResult {
    app.require_user_administrator(&s.ctx)?;
    let side = if q.side.as_deref() == Some("firm") { "firm" } else { "company" };
    let f = NewUserForm {
        side: side.into(),
        ..Default::default()
    };
    Ok(ok(&new_user_page(&app, &s, f, FormErrors::none()).await?))
}

/// N1: the new user email goes out at once unless held.
pub async fn create(State(app): State<App>, s: Session, Posted(f): Posted<NewUserForm>) -> PageResult {
    let side = if f.side == "firm" { "firm" } else { "company" };
    let input = NewUser {
        email: f.person.email.trim().to_owned(),
        first_name: f.person.first_name.clone(),
        last_name: f.person.last_name.clone(),
        side: Some(side.into()),
        firm_id: if side == "firm" { given(&f.firm_id) } else { None },
        office_id: given(&f.office_id),
        role: f.person.role.clone(),
        hold_new_user_email: ticked(&f.hold_new_user_email),
    };
    match app.create_user(&s.ctx, input).await {
        Ok(d) => {
            let u = &d.user;
            let mail = if ticked(&f.hold_new_user_email) {
                "The new user email is held until you send it or add them to a matter."
            } else {
                "The new user email is on its way."
            };
            Ok(redirect_with(
                "/users",
                &[Flash::ok(format!("{} was added ({}). {mail}", u.full_name(), u.email))],
            ))
        }
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            app.require_user_administrator(&s.ctx)?;
            Ok(render(status, &new_user_page(&app, &s, f, errors).await?))
        }
    }
}

#[cfg(test)]
mod tests {
    /// The shared person fields are read through `flatten` beside the form's own.
    #[test]
    fn the_form_reads_its_person_fields_and_its_own() {
        let body = b"side=firm&first_name=Ann&last_name=Lee&email=ann%40firm.example&role=firm_user&firm_id=f1&hold_new_user_email=1";
        let f: super::NewUserForm = serde_html_form::from_bytes(body).unwrap();
        assert_eq!(
            (
                f.person.first_name.as_str(),
                f.person.last_name.as_str(),
                f.person.email.as_str(),
                f.person.role.as_str()
            ),
            ("Ann", "Lee", "ann@firm.example", "firm_user")
        );
        assert_eq!(
            (f.side.as_str(), f.firm_id.as_deref(), f.hold_new_user_email.as_deref()),
            ("firm", Some("f1"), Some("1"))
        );
        let empty: super::NewUserForm = serde_html_form::from_bytes(b"side=company").unwrap();
        assert!(empty.person.first_name.is_empty() && empty.person.role.is_empty() && empty.office_id.is_none());
    }
}
