//! Enums stored in text columns, read back strictly.
//!
//! A state (an order's status, a window's lifecycle …) is written as its snake_case name and read
//! back into its Rust enum. A value the code does not know is a deserialization error — the
//! request fails with 500 and the log names the column's type and the value — never a guess such
//! as "unknown reads as cancelled". The migration `known_states` keeps such values out of the
//! database in the first place (CHECK constraints on PostgreSQL, triggers on SQLite).

/// Lets an enum with `FromStr` (strum's `EnumString`) be a field of a diesel row read from a
/// `Text` column (`Nullable<Text>` for an `Option`), refusing unknown values, and be written
/// as its name (`orders::status.eq(OrderStatus::Confirmed)`). Derive
/// `diesel::deserialize::FromSqlRow` and `strum::IntoStaticStr` on the enum as well.
#[macro_export]
macro_rules! stored_as_text {
    ($($t:ty),+ $(,)?) => {$(
        impl diesel::expression::AsExpression<diesel::sql_types::Text> for $t {
            type Expression = <&'static str as diesel::expression::AsExpression<diesel::sql_types::Text>>::Expression;
            fn as_expression(self) -> Self::Expression {
                let name: &'static str = self.into();
                <&'static str as diesel::expression::AsExpression<diesel::sql_types::Text>>::as_expression(name)
            }
        }
        impl diesel::expression::AsExpression<diesel::sql_types::Text> for &$t {
            type Expression = <&'static str as diesel::expression::AsExpression<diesel::sql_types::Text>>::Expression;
            fn as_expression(self) -> Self::Expression {
                let name: &'static str = (*self).into();
                <&'static str as diesel::expression::AsExpression<diesel::sql_types::Text>>::as_expression(name)
            }
        }
        impl diesel::expression::AsExpression<diesel::sql_types::Nullable<diesel::sql_types::Text>> for $t {
            type Expression = <&'static str as diesel::expression::AsExpression<diesel::sql_types::Nullable<diesel::sql_types::Text>>>::Expression;
            fn as_expression(self) -> Self::Expression {
                let name: &'static str = self.into();
                <&'static str as diesel::expression::AsExpression<diesel::sql_types::Nullable<diesel::sql_types::Text>>>::as_expression(name)
            }
        }
        impl diesel::deserialize::FromSql<diesel::sql_types::Text, $crate::db::MultiBackend> for $t {
            fn from_sql(bytes: $crate::db::MultiRawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text: String = bytes.from_sql::<String, diesel::sql_types::Text>()?;
                text.parse::<$t>().map_err(|_| {
                    $crate::db::stored::UnknownValue {
                        type_name: stringify!($t),
                        value: text,
                    }
                    .into()
                })
            }
        }
    )+};
}

/// A stored value that is not one of its enum's.
#[derive(Debug, thiserror::Error)]
#[error("the database holds {value:?}, which is not a known {type_name}")]
pub struct UnknownValue {
    pub type_name: &'static str,
    pub value: String,
}
