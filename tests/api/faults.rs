//! A database that refuses writes (a full disk, a read-only file, a read-only PostgreSQL) gives
//! 503 problems with `Retry-After`, reads go on, nothing is half-written, and the service
//! recovers by itself when writes are possible again. `bench/faults/sqlite_disk.sh` does the same
//! with a real full filesystem and a read-only file.

use serde_json::json;

use crate::helpers::*;
use crate::market::*;

/// Runs `sql` on every connection of the app's pool: all of them are taken at once, so none is
/// missed, and the pool opens no others while they are out.
async fn on_every_connection(app: &TestApp, sql: &'static str) {
    let pool = app.state.pool.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::connection::SimpleConnection;
        let taken: Vec<_> = (0..pool.max_size())
            .map(|_| pool.get().expect("a pooled connection"))
            .collect();
        for mut conn in taken {
            conn.batch_execute(sql).expect(sql);
        }
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_database_that_refuses_writes_gives_503_and_recovers() {
    let w = World::new().await;
    let window = window(&w, 100, json!({})).await;
    let id = window["id"].as_i64().unwrap();
    let one = variant(&window, 1);
    let body = order_body(
        &window,
        json!([{"variant_id": one, "quantity": 2}]),
        "0812345678",
    );
    let (refuse, allow) = if w.app.db.is_postgres() {
        (
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        )
    } else {
        ("PRAGMA query_only = ON", "PRAGMA query_only = OFF")
    };

    on_every_connection(&w.app, refuse).await;
    let res = w
        .app
        .post("/v1/orders")
        .header("Idempotency-Key", "fault-1")
        .header("Accept-Language", "th")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["retry-after"], "5");
    let problem = assert_problem(res, 503, "database_unavailable").await;
    assert_eq!(problem["retry_after"], 5);
    let (status, hold_problem) = hold(&w.app, id, one, 1, None).await;
    assert_eq!(status, 503, "{hold_problem}");
    // Reads go on.
    assert_eq!(availability(&w.app, id).await["sold"], 0);
    assert_eq!(w.app.get("/v1/windows").send().await.unwrap().status(), 200);

    on_every_connection(&w.app, allow).await;
    // The refused request left nothing behind: the same key places the order now.
    let (status, order) = place(&w.app, &body, Some("fault-1")).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(availability(&w.app, id).await["sold"], 2);
    assert_eq!(reconcile(&w, "").await["mismatches"], json!([]));
}
