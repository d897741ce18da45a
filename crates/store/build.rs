// `sqlx::migrate!` embeds the migrations at compile time: a new or changed
// migration file must rebuild this crate (sqlx's documented build script).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
