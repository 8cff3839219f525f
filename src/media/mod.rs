//! Product photos: uploads from a phone, metadata stripped, sizes for `srcset`, stored in a
//! local directory or S3-compatible object storage, served with long-lived caching.
//!
//! A room above orders (it reads products through the catalog's functions and shows photos in
//! product and window views through the hook `catalog::products::set_photo_lookup`; nothing
//! calls it back):
//! - `images`: content sniffing, decoding with limits, EXIF orientation, sizes, encoding;
//! - `storage`: the photo store (a directory or S3-compatible, through `object_store`);
//! - `photos`: the rows, order and cover, and the views;
//! - `handlers`: `/v1/products/{id}/photos…`, `/v1/media/{file}`.

pub mod handlers;
pub mod images;
pub mod photos;
pub mod storage;

/// Connects the room to the rooms below it (the product and window views' photos). Called once
/// at start-up.
pub fn install() {
    crate::catalog::products::set_photo_lookup(photos::lookup);
}
