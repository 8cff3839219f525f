//! Migrations go up, down and up again on the test backend.

use crate::helpers::TestDatabase;
use khongdee::db::{self, DatabaseUrl, DbManager};

#[test]
fn migrations_run_up_down_up() {
    let test_db = TestDatabase::create_empty();
    let url = DatabaseUrl::parse(&test_db.url).unwrap();
    let mut conn = DbManager::new(url).establish().unwrap();
    assert!(db::has_pending_migrations(&mut conn).unwrap());
    let applied = db::run_migrations(&mut conn).unwrap();
    assert!(!applied.is_empty());
    assert!(!db::has_pending_migrations(&mut conn).unwrap());
    let reverted = db::revert_all_migrations(&mut conn).unwrap();
    assert_eq!(reverted.len(), applied.len());
    assert!(db::has_pending_migrations(&mut conn).unwrap());
    let again = db::run_migrations(&mut conn).unwrap();
    assert_eq!(again, applied);
    assert!(!db::has_pending_migrations(&mut conn).unwrap());
}
