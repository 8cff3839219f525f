//! Tables, written by hand for both backends: only types SQLite and PostgreSQL share
//! (BigInt, Integer, Text, Bool, Timestamp in UTC, Date).

diesel::table! {
    app_settings (name) {
        name -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}
