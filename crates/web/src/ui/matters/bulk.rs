//! D9: the lead company person of many open matters, changed at once.

use crate::ui::page::{
    form_problem, ok, person_choices, redirect_with, render, Choice, Flash, FormErrors, Layout, PageError, PageResult, PeopleSearch,
    PickerQuery, Posted, Session,
};
use app::ui_support::{Person, Purpose};
use app::App;
use askama::Template;
use axum::extract::{Query, State};
use domain::UserId;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct BulkQuery {
    from: Option<String>,
    q: Option<String>,
}

pub struct LedRow {
    pub id: String,
    pub name: String,
    pub number: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "matters/bulk.html")]
struct BulkPage {
    layout: Layout,
    search: PeopleSearch,
    errors: FormErrors,
    from: String,
    from_name: String,
    from_inactive: bool,
    froms: Vec<Choice>,
    tos: Vec<Choice>,
    matters: Vec<LedRow>,
}

async fn bulk_form(
    app: &App,
    s: &Session,
    from: String,
    to: String,
    ticked_ids: Option<Vec<String>>,
    errors: FormErrors,
    q: &PickerQuery,
) -> Result<BulkPage, PageError> {
    // D9 is for company system administrators only, like the bulk update.
    app.require_bulk_update(&s.ctx)?;
    let mut search = PeopleSearch::new("/bulk-update/lead-company-person", q);
    if !from.is_empty() {
        search.hidden.push(("from".into(), from.clone()));
    }
    let people = search.require(app, &s.ctx, Purpose::Lead(None)).await?;
    let (mut from_name, mut from_inactive, mut matters) = (String::new(), false, Vec::new());
    let mut keep = None;
    if !from.is_empty() {
        let (who, led) = app.open_matters_led_by(&s.ctx, &UserId::from(from.as_str())).await?;
        from_name = who.name.clone();
        from_inactive = !who.active;
        keep = Some((who.id.to_string(), format!("{} — {} (deactivated)", who.name, who.email)));
        matters = led
            .into_iter()
            .map(|m| LedRow {
                checked: ticked_ids.as_ref().is_none_or(|ids| ids.contains(&m.id)),
                id: m.id,
                name: m.name,
                number: m.number,
            })
            .collect();
    }
    let froms = person_choices(
        &people,
        std::slice::from_ref(&from),
        keep.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
    );
    let others: Vec<Person> = people.into_iter().filter(|p| p.id.as_str() != from).collect();
    let tos = person_choices(&others, &[to], None);
    Ok(BulkPage {
        layout: s.layout("Bulk update of lead company person", "bulk"),
        search,
        errors,
        from,
        from_name,
        from_inactive,
        froms,
        tos,
        matters,
    })
}

/// D9's form, prefilled with `?from=<user id>` from a refused deactivation.
pub async fn bulk_page(State(app): State<App>, s: Session, Query(q): Query<BulkQuery>) -> PageResult {
    let search = PickerQuery { q: q.q };
    let from = q.from.unwrap_or_default();
    Ok(ok(
        &bulk_form(&app, &s, from, String::new(), None, FormErrors::none(), &search).await?
    ))
}

#[derive(Deserialize, Default)]
pub struct BulkForm {
    #[serde(default)]
    from_user_id: String,
    #[serde(default)]
    to_user_id: String,
    #[serde(default)]
    matter_ids: Vec<String>,
    /// How many matters the form listed: all ticked means "all of them",
    /// including any opened since the page was shown.
    listed: Option<String>,
}

pub async fn bulk(State(app): State<App>, s: Session, Query(q): Query<PickerQuery>, Posted(f): Posted<BulkForm>) -> PageResult {
    let listed: usize = f.listed.as_deref().and_then(|n| n.parse().ok()).unwrap_or(0);
    let chosen = if listed > 0 && f.matter_ids.len() >= listed {
        None
    } else {
        Some(f.matter_ids.clone())
    };
    if f.to_user_id.is_empty() {
        let errors = FormErrors::field("to_user_id", "choose the new lead company person");
        return Ok(render(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            &bulk_form(&app, &s, f.from_user_id, f.to_user_id, Some(f.matter_ids), errors, &q).await?,
        ));
    }
    match app.bulk_update_lead(&s.ctx, &f.from_user_id, &f.to_user_id, chosen).await {
        Ok(r) => {
            let to = app.people_by_id(&s.ctx, &[UserId::from(f.to_user_id.as_str())]).await?;
            let to_name = to.values().next().map(|p| p.name.clone()).unwrap_or_default();
            let msg = format!("{} matter(s) now have {} as lead company person.", r.updated.len(), to_name);
            Ok(redirect_with(&format!("/users/{}", f.from_user_id), &[Flash::ok(msg)]))
        }
        Err(e) => {
            let (status, errors) = form_problem(e)?;
            Ok(render(
                status,
                &bulk_form(&app, &s, f.from_user_id, f.to_user_id, Some(f.matter_ids), errors, &q).await?,
            ))
        }
    }
}
