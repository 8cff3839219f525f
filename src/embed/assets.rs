//! The form's static files, built into the binary and named by their content, so that a page
//! may cache them for a year (`immutable`) and a new release is fetched at once: the stable
//! loader (`/embed/khongdee.js`, cached five minutes) and the pages point to the current names.
//! Each file is gzipped once, at first use.

use std::io::Write;
use std::sync::OnceLock;

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

/// One static file.
pub struct Asset {
    /// `form.3f9a1c2b7d.js`: the stem, ten hex digits of the SHA-256 of the content, the
    /// extension.
    pub name: String,
    pub content_type: &'static str,
    pub body: &'static [u8],
    pub gzip: Vec<u8>,
    /// A strong ETag (the full SHA-256).
    pub etag: String,
}

impl Asset {
    fn new(stem: &str, extension: &str, content_type: &'static str, body: &'static [u8]) -> Asset {
        let digest: String = Sha256::digest(body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Asset {
            name: format!("{stem}.{}.{extension}", &digest[..10]),
            content_type,
            body,
            gzip: gzip(body),
            etag: format!("\"{digest}\""),
        }
    }
}

/// gzip at the best ratio (the files are small and compressed once).
pub fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    // Writing to a Vec cannot fail.
    encoder.write_all(body).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

/// The form's files.
pub struct Assets {
    pub form_js: Asset,
    pub form_css: Asset,
    pub demo_css: Asset,
    /// The loader's text with `__FORM_JS__` and `__FORM_CSS__` still to fill in.
    pub loader_template: &'static str,
}

impl Assets {
    /// The hashed file called `name`, if it is one of the current ones.
    pub fn find(&self, name: &str) -> Option<&Asset> {
        [&self.form_js, &self.form_css, &self.demo_css]
            .into_iter()
            .find(|a| a.name == name)
    }

    /// The loader for an API reached at `base` (`https://api.example`, no trailing slash).
    pub fn loader(&self, base: &str) -> String {
        self.loader_template
            .replace(
                "__FORM_JS__",
                &format!("{base}/embed/assets/{}", self.form_js.name),
            )
            .replace(
                "__FORM_CSS__",
                &format!("{base}/embed/assets/{}", self.form_css.name),
            )
    }

    /// Bytes a browser transfers for the script path (loader, form script and stylesheet), all
    /// gzipped: the figure the README states.
    pub fn script_path_gzipped(&self, base: &str) -> usize {
        gzip(self.loader(base).as_bytes()).len()
            + self.form_js.gzip.len()
            + self.form_css.gzip.len()
    }
}

static ASSETS: OnceLock<Assets> = OnceLock::new();

/// The files of this build.
pub fn assets() -> &'static Assets {
    ASSETS.get_or_init(|| Assets {
        form_js: Asset::new(
            "form",
            "js",
            "text/javascript; charset=utf-8",
            include_bytes!("assets/form.js"),
        ),
        form_css: Asset::new(
            "form",
            "css",
            "text/css; charset=utf-8",
            include_bytes!("assets/form.css"),
        ),
        demo_css: Asset::new(
            "demo",
            "css",
            "text/css; charset=utf-8",
            include_bytes!("assets/demo.css"),
        ),
        loader_template: include_str!("assets/loader.js"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash_and_the_loader_points_at_them() {
        let assets = assets();
        let name = &assets.form_js.name;
        assert!(name.starts_with("form.") && name.ends_with(".js"), "{name}");
        assert_eq!(name.len(), "form.".len() + 10 + ".js".len());
        assert!(assets.find(name).is_some());
        assert!(assets.find("form.0000000000.js").is_none());
        let loader = assets.loader("https://api.example");
        assert!(loader.contains(&format!("https://api.example/embed/assets/{name}")));
        assert!(loader.contains(&format!(
            "https://api.example/embed/assets/{}",
            assets.form_css.name
        )));
        assert!(!loader.contains("__FORM_"));
        // The gzip is the file.
        let mut out = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&assets.form_css.gzip[..]),
            &mut out,
        )
        .unwrap();
        assert_eq!(out, assets.form_css.body);
    }
}
