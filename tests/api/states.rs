//! State columns hold only the values the code knows: the database refuses others (CHECK
//! constraints on PostgreSQL, triggers on SQLite), the lists agree with the Rust enums, and a
//! value that still gets in is a loud error when read, never a guess.

use std::collections::BTreeSet;

use diesel::RunQueryDsl;
use serde_json::json;
use strum::IntoEnumIterator;

use crate::helpers::*;
use crate::market::*;

fn names<T: IntoEnumIterator + std::fmt::Display>() -> BTreeSet<String> {
    T::iter().map(|v| v.to_string()).collect()
}

/// `table_column_known` lists of a migration file: the quoted values of the `IN (…)` that follows
/// a rule's name (on the same line on PostgreSQL, on the trigger's WHEN line on SQLite).
fn lists(sql: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut out = Vec::new();
    let mut rule = None;
    for line in sql.lines() {
        if let Some(at) = line.find("_known")
            && !line.contains("RAISE")
        {
            let start = line[..at]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .map_or(0, |i| i + 1);
            rule = Some(line[start..at].to_string());
        }
        if let (Some(name), Some(list)) = (&rule, line.split(" IN (").nth(1)) {
            let values: BTreeSet<String> = list
                .split('\'')
                .enumerate()
                .filter(|(i, _)| i % 2 == 1)
                .map(|(_, v)| v.to_string())
                .collect();
            out.push((name.clone(), values));
        }
    }
    out
}

#[test]
fn the_databases_know_the_same_states_as_the_code() {
    use khongdee::auth::Role;
    use khongdee::capacity::ledger::Movement;
    use khongdee::catalog::crops::{Category, SaleUnit};
    use khongdee::catalog::producers::ProducerKind;
    use khongdee::laos::model::LaoType;
    use khongdee::orders::model::{Channel, DeliveryMethod, OrderStatus};
    use khongdee::preorder::holds::HoldStatus;
    use khongdee::preorder::waitlist::EntryStatus;
    use khongdee::preorder::windows::{FeeKind, Lifecycle};
    let expected: Vec<(&str, BTreeSet<String>)> = vec![
        ("orders_status", names::<OrderStatus>()),
        ("orders_channel", names::<Channel>()),
        ("orders_delivery_method", names::<DeliveryMethod>()),
        ("order_history_from_status", names::<OrderStatus>()),
        ("order_history_to_status", names::<OrderStatus>()),
        ("holds_status", names::<HoldStatus>()),
        ("waitlist_entries_status", names::<EntryStatus>()),
        ("preorder_windows_lifecycle", names::<Lifecycle>()),
        ("preorder_windows_delivery_fee_kind", names::<FeeKind>()),
        ("capacity_ledger_kind", names::<Movement>()),
        (
            "idempotency_keys_state",
            ["in_flight", "completed"].map(String::from).into(),
        ),
        (
            "sale_facts_kind",
            ["sale", "reversal"].map(String::from).into(),
        ),
        ("sale_facts_channel", names::<Channel>()),
        ("users_role", names::<Role>()),
        ("laos_lao_type", names::<LaoType>()),
        ("producers_kind", names::<ProducerKind>()),
        ("crops_category", names::<Category>()),
        ("crops_sale_unit", names::<SaleUnit>()),
    ];
    use khongdee::sales::{FactKind, SaleChannel, Source};
    let sales: Vec<(&str, BTreeSet<String>)> = vec![
        ("sale_facts_kind", names::<FactKind>()),
        ("sale_facts_source", names::<Source>()),
        ("sale_facts_channel", names::<SaleChannel>()),
        (
            "recorded_sales_channel",
            SaleChannel::iter()
                .filter(|c| c.is_recordable())
                .map(|c| c.to_string())
                .collect(),
        ),
        (
            "sale_monthly_people_role",
            ["producer", "buyer"].map(String::from).into(),
        ),
    ];
    let root = env!("CARGO_MANIFEST_DIR");
    for (migration, expected) in [
        ("2026-11-29-000006_known_states", &expected),
        ("2026-11-29-000008_sales", &sales),
    ] {
        for backend in ["postgres", "sqlite"] {
            let path = format!("{root}/migrations/{backend}/{migration}/up.sql");
            let sql = std::fs::read_to_string(&path).expect("the migration");
            let found = lists(&sql);
            for (name, values) in expected.iter() {
                let lists: Vec<&BTreeSet<String>> = found
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v)
                    .collect();
                assert!(!lists.is_empty(), "{backend}: no rule for {name}");
                for list in lists {
                    assert_eq!(list, values, "{backend}: {name} differs from the Rust enum");
                }
            }
        }
    }
}

async fn sql(app: &TestApp, statement: &str) -> Result<usize, String> {
    let statement = statement.to_string();
    app.state
        .db(move |conn| Ok(diesel::sql_query(statement).execute(conn)))
        .await
        .expect("database reachable")
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn the_database_refuses_states_the_code_does_not_know() {
    let w = World::new().await;
    let win = window(&w, 100, json!({})).await;
    let id = win["id"].as_i64().unwrap();
    let body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 2}]),
        "0891234567",
    );
    let (status, order) = place(&w.app, &body, None).await;
    assert_eq!(status, 201, "{order}");
    let code = order["code"].as_str().unwrap();
    let (status, held) = hold(&w.app, id, variant(&win, 1), 1, None).await;
    assert_eq!(status, 201, "{held}");

    for statement in [
        format!("UPDATE orders SET status = 'paid' WHERE code = '{code}'"),
        format!("UPDATE orders SET channel = 'facebook' WHERE code = '{code}'"),
        format!("UPDATE preorder_windows SET lifecycle = 'open' WHERE id = {id}"),
        format!("UPDATE preorder_windows SET delivery_fee_kind = 'free' WHERE id = {id}"),
        "UPDATE users SET role = 'superuser'".to_string(),
        "UPDATE holds SET status = 'gone'".to_string(),
    ] {
        let refused = sql(&w.app, &statement).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.contains("_known") || e.contains("CHECK")),
            "{statement}: {refused:?}"
        );
    }
    // Known values still go in.
    assert_eq!(
        sql(
            &w.app,
            &format!("UPDATE preorder_windows SET delivery_fee_kind = NULL WHERE id = {id}")
        )
        .await,
        Ok(1)
    );
}

#[tokio::test]
async fn an_unknown_state_read_back_is_a_server_error_not_a_guess() {
    let w = World::new().await;
    let win = window(&w, 100, json!({})).await;
    let body = order_body(
        &win,
        json!([{"variant_id": variant(&win, 1), "quantity": 2}]),
        "0891234567",
    );
    let (_, order) = place(&w.app, &body, None).await;
    let code = order["code"].as_str().unwrap();
    // Someone removed the guard by hand and typed a status that does not exist.
    let drop_guard = if w.app.db.is_postgres() {
        "ALTER TABLE orders DROP CONSTRAINT orders_status_known"
    } else {
        "DROP TRIGGER orders_status_known_update"
    };
    sql(&w.app, drop_guard).await.unwrap();
    sql(
        &w.app,
        &format!("UPDATE orders SET status = 'paid' WHERE code = '{code}'"),
    )
    .await
    .unwrap();
    let res = w
        .app
        .get(&format!("/v1/orders/{code}"))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 500, "internal_error").await;
    assert!(
        !problem.to_string().contains("paid"),
        "the cause is logged, not sent: {problem}"
    );
}
