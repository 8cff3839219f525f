//! Losing the database gives 503 problems, and the service recovers by itself when it returns.
//!
//! The app reaches PostgreSQL through a TCP proxy that the test can cut, so the real server keeps
//! running for the other tests. `tests/pg_outage.sh` does the same by stopping PostgreSQL itself.

use std::sync::Arc;
use std::time::Duration;

use khongdee::config::Config;
use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::helpers::*;

/// Forwards TCP connections to `upstream` while up; when down, cuts every open connection and
/// refuses new ones.
struct Proxy {
    port: u16,
    up: Arc<watch::Sender<bool>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, _) = watch::channel(true);
        let up = Arc::new(tx);
        let state = up.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !*state.borrow() {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let mut down = state.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut client, &mut server) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Proxy { port, up }
    }

    fn set_up(&self, up: bool) {
        self.up.send_replace(up);
    }
}

/// `host:port` of a PostgreSQL URL.
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").unwrap().1;
    let authority = rest.split('/').next().unwrap();
    let host = authority.rsplit('@').next().unwrap();
    if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    }
}

#[tokio::test]
async fn database_outage_gives_503_and_recovers() {
    let db = TestDatabase::create();
    // PostgreSQL only by nature (an embedded SQLite file cannot go away), so CI's SQLite run
    // skips it; in its PostgreSQL run an unreachable server already fails `TestDatabase::create`.
    let what = "PostgreSQL (TEST_DATABASE_URL); an embedded SQLite file cannot go away";
    if !precondition(what, db.is_postgres(), Provider::SomeRuns) {
        return;
    }
    let proxy = Proxy::start(host_port(&db.url)).await;
    let via_proxy = db
        .url
        .replacen(&host_port(&db.url), &format!("127.0.0.1:{}", proxy.port), 1);
    let mut config = Config::with_database(via_proxy);
    config.jwt_secret = Some("test-secret-test-secret-test-secret-0123".into());
    config.workers = Some(2);
    config.db_timeout_secs = 1;
    let app = spawn_app_on(db, config).await;

    let res = app.get("/readyz").send().await.unwrap();
    assert_eq!(
        res.status(),
        200,
        "the app does not reach PostgreSQL through the proxy to {}",
        host_port(&app.db.url)
    );

    proxy.set_up(false);
    let res = app.get("/readyz").send().await.unwrap();
    assert!(res.headers().contains_key("retry-after"));
    let body = assert_problem(res, 503, "database_unavailable").await;
    assert!(body["detail"].as_str().unwrap().contains("database"));
    // Liveness does not depend on the database.
    assert_eq!(app.get("/healthz").send().await.unwrap().status(), 200);

    proxy.set_up(true);
    let mut recovered = false;
    for _ in 0..40 {
        if app.get("/readyz").send().await.unwrap().status() == 200 {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        recovered,
        "the service did not recover after the database came back"
    );
}
