//! Where photo files live: a local directory or S3-compatible object storage, behind the
//! `object_store` crate's one interface (`ObjectStore`), so the rest of the room does not know
//! which. Files are named by the SHA-256 of their content and the upload
//! (`{hash}-{upload}.{ext}`) and never change: any process can serve any file.

use std::path::Path;
use std::sync::Arc;

use actix_web::web::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use crate::config::Config;

/// The photo store.
#[derive(Clone)]
pub struct PhotoStore {
    store: Arc<dyn ObjectStore>,
    /// Keys start with this (the S3 prefix, or nothing).
    prefix: String,
    /// `directory /srv/…` or `s3://bucket/prefix at endpoint`, for logs and `/readyz`.
    pub description: String,
}

impl std::fmt::Debug for PhotoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

impl PhotoStore {
    /// The store `KHONGDEE_MEDIA_STORE` names (see [`Config::media_store`]); an error says
    /// what is wrong with the setting.
    pub fn from_config(config: &Config) -> Result<PhotoStore, String> {
        let setting = config.media_store.as_deref().unwrap_or("").trim();
        if let Some(rest) = setting.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err("s3://bucket names no bucket".into());
            }
            // A store that does not answer fails the request in about ten seconds, not minutes.
            let retry = object_store::RetryConfig {
                max_retries: 2,
                retry_timeout: std::time::Duration::from_secs(10),
                ..Default::default()
            };
            let client = object_store::ClientOptions::new()
                .with_connect_timeout(std::time::Duration::from_secs(3))
                .with_timeout(std::time::Duration::from_secs(10));
            let mut builder = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_region(&config.s3_region)
                .with_retry(retry)
                .with_client_options(client);
            let mut at = String::from("AWS");
            if let Some(endpoint) = config.s3_endpoint.as_deref() {
                builder = builder
                    .with_endpoint(endpoint)
                    .with_allow_http(endpoint.starts_with("http://"));
                at = endpoint.to_string();
            }
            if let Some(key) = config.s3_access_key_id.as_deref() {
                builder = builder.with_access_key_id(key);
            }
            if let Some(secret) = config.s3_secret_access_key.as_deref() {
                builder = builder.with_secret_access_key(secret);
            }
            let store = builder.build().map_err(|e| e.to_string())?;
            let prefix = prefix.trim_matches('/').to_string();
            return Ok(PhotoStore {
                description: format!("s3://{bucket}/{prefix} at {at}"),
                store: Arc::new(store),
                prefix,
            });
        }
        let dir = match setting.strip_prefix("file://") {
            Some(path) => std::path::PathBuf::from(path),
            None if setting.is_empty() => config.data_dir.join("media"),
            None => return Err(format!("`{setting}` is neither file://… nor s3://…")),
        };
        PhotoStore::directory(&dir)
    }

    /// A store in a local directory (created if missing).
    pub fn directory(dir: &Path) -> Result<PhotoStore, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let store = LocalFileSystem::new_with_prefix(dir).map_err(|e| e.to_string())?;
        Ok(PhotoStore {
            description: format!("directory {}", dir.display()),
            store: Arc::new(store),
            prefix: String::new(),
        })
    }

    fn key(&self, file_name: &str) -> ObjectPath {
        // Two levels by the hash's first characters keep directories small.
        let shard = file_name.get(..2).unwrap_or("00");
        if self.prefix.is_empty() {
            ObjectPath::from(format!("photos/{shard}/{file_name}"))
        } else {
            ObjectPath::from(format!("{}/photos/{shard}/{file_name}", self.prefix))
        }
    }

    pub async fn put(&self, file_name: &str, bytes: Vec<u8>) -> object_store::Result<()> {
        self.store
            .put(&self.key(file_name), PutPayload::from(bytes))
            .await
            .map(|_| ())
    }

    /// The file's bytes, or `None` if it does not exist.
    pub async fn get(&self, file_name: &str) -> object_store::Result<Option<Bytes>> {
        match self.store.get(&self.key(file_name)).await {
            Ok(found) => Ok(Some(found.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes a file; one already gone is fine.
    pub async fn delete(&self, file_name: &str) -> object_store::Result<()> {
        match self.store.delete(&self.key(file_name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
