//! Reading stored codes (`domain::stored_enum!` types) out of rows.
//!
//! A row struct names the column `#[sqlx(try_from = "Code<PlanStatus>")]`:
//! [`Code`] decodes the text and parses it, so a text that names no
//! variant fails the decode with its [`domain::UnknownCode`], which
//! `StoreError::from` turns into `StoreError::Corrupt`.

use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Type};

/// A stored code as read from its text column.
pub struct Code<T>(T);

impl<DB: Database, T> Type<DB> for Code<T>
where
    String: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: Database, T> Decode<'r, DB> for Code<T>
where
    String: Decode<'r, DB>,
    T: TryFrom<String, Error = domain::UnknownCode>,
{
    fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <String as Decode<'r, DB>>::decode(value)?;
        Ok(Code(T::try_from(text)?))
    }
}

macro_rules! from_code {
    ($($ty:ty),+) => {
        $(impl From<Code<$ty>> for $ty {
            fn from(c: Code<$ty>) -> Self {
                c.0
            }
        })+
    };
}

from_code!(
    domain::links::LinkPurpose,
    domain::offboarding::ItemKind,
    domain::offboarding::TargetType,
    domain::offboarding::PlanStatus,
    crate::outbox::MailStatus
);
