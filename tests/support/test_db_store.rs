//! A store on a test database, for the binaries whose tests write through the store (the
//! end-to-end tests only hand the database to the `timber` binary).

use timber::store::{Store, StoreConfig};

use crate::store_support::TestDb;

impl TestDb {
    /// A read-write store on this database (creating the SQLite file).
    pub async fn store(&self) -> Store {
        let mut config = StoreConfig::from_url(&self.url).expect("test url");
        config.create_if_missing = true;
        Store::connect(config)
            .await
            .expect("connect to the test database")
    }
}
