//! Product photos: real uploads (a phone JPEG with GPS and orientation 6, a PNG, a WebP, a
//! truncated file, a decompression bomb, text named `.jpg`, HEIC), the sizes and their
//! dimensions, no metadata in any output, caching headers, order, cover and deletion, and the
//! S3-compatible backend against a Moto server on loopback.

use std::io::Cursor;

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::market::*;

const PHONE: &[u8] = include_bytes!("../fixtures/photos/phone_gps_orientation6.jpg");
/// The phone model in the fixture's EXIF.
const PHONE_MODEL: &[u8] = b"Galaxy A14";

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([
            (x % 256) as u8,
            (y % 256) as u8,
            120,
            if x < 10 { 0 } else { 255 },
        ])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn webp(width: u32, height: u32) -> Vec<u8> {
    let rgb: Vec<u8> = (0..width * height)
        .flat_map(|i| [(i % 251) as u8, 90, 200])
        .collect();
    webp::Encoder::from_rgb(&rgb, width, height)
        .encode(80.0)
        .to_vec()
}

/// A PNG whose header claims 50,000 × 50,000 pixels (2.5 gigapixels) with almost no data.
fn bomb() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC).checksum(&body);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// An HEIC file's first bytes (an ISO-BMFF `ftyp` box, brand `heic`).
fn heic() -> Vec<u8> {
    let mut out = vec![0, 0, 0, 24];
    out.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    out.extend_from_slice(&[0u8; 64]);
    out
}

async fn upload_form(app: &TestApp, token: &str, product: i64, form: Form) -> (u16, Value) {
    let (status, body) = json(
        app.post(&format!("/v1/products/{product}/photos"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    (status.as_u16(), body)
}

fn file_form(bytes: &[u8], name: &str, mime: &str) -> Form {
    Form::new().part(
        "file",
        Part::bytes(bytes.to_vec())
            .file_name(name.to_string())
            .mime_str(mime)
            .unwrap(),
    )
}

async fn upload_raw(
    app: &TestApp,
    token: &str,
    product: i64,
    bytes: &[u8],
    mime: &str,
) -> (u16, Value) {
    let (status, body) = json(
        app.post(&format!("/v1/products/{product}/photos"))
            .bearer_auth(token)
            .header("content-type", mime)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await;
    (status.as_u16(), body)
}

/// Fetches a media URL: status, headers and bytes.
async fn fetch(app: &TestApp, url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let res = app.get(url).send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    (status, headers, res.bytes().await.unwrap().to_vec())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Checks every file of a photo: served with its type and year-long caching, the size the
/// view says, no metadata. Returns the decoded full-size image.
async fn check_files(app: &TestApp, photo: &Value) -> image::DynamicImage {
    let mut files = vec![photo["original"].clone()];
    files.extend(photo["sizes"].as_array().unwrap().iter().cloned());
    let mut original = None;
    for file in files {
        let url = file["url"].as_str().unwrap();
        let (status, headers, bytes) = fetch(app, url).await;
        assert_eq!(status, 200, "{url}");
        let mime = format!("image/{}", file["format"].as_str().unwrap());
        assert_eq!(headers["content-type"], mime.as_str(), "{url}");
        assert_eq!(
            headers["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let etag = headers["etag"].to_str().unwrap().to_string();
        assert!(
            url.contains(etag.trim_matches('"')),
            "the ETag is the content hash"
        );
        assert_eq!(bytes.len() as i64, file["bytes"].as_i64().unwrap());
        // No EXIF, XMP or GPS in any output.
        for marker in [
            &b"Exif"[..],
            b"GPS",
            b"http://ns.adobe.com/xap",
            PHONE_MODEL,
            b"Samsung",
        ] {
            assert!(!contains(&bytes, marker), "{url} carries {marker:?}");
        }
        let img = image::load_from_memory(&bytes).unwrap();
        assert_eq!(
            (img.width(), img.height()),
            (
                file["width"].as_u64().unwrap() as u32,
                file["height"].as_u64().unwrap() as u32
            ),
            "{url}"
        );
        // A second request with the ETag: 304, no body.
        let res = app
            .get(url)
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304);
        // A weak tag matches too (RFC 9110: If-None-Match compares weakly).
        let res = app
            .get(url)
            .header("if-none-match", format!("W/{etag}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 304);
        if file == photo["original"] {
            original = Some(img);
        }
    }
    original.unwrap()
}

#[tokio::test]
async fn a_phone_photo_is_turned_upright_stripped_and_sized() {
    let w = World::new().await;
    let product = product(&w).await;
    let form = file_form(PHONE, "IMG_0001.JPG", "image/jpeg")
        .text("alt_th", "ลำไยช่อใหญ่ในสวนป้าแก้ว")
        .text("alt_en", "Longan bunches in the orchard");
    let (status, photo) = upload_form(&w.app, &w.staff.token, product, form).await;
    assert_eq!(status, 201, "{photo}");
    assert!(
        contains(PHONE, b"Exif") && contains(PHONE, PHONE_MODEL),
        "the fixture carries EXIF"
    );
    // Stored 600 × 400 with orientation 6: upright it is 400 × 600.
    assert_eq!(
        (photo["width"].as_u64(), photo["height"].as_u64()),
        (Some(400), Some(600))
    );
    assert_eq!(photo["cover"], true);
    assert_eq!(photo["position"], 1);
    assert_eq!(photo["alt_th"], "ลำไยช่อใหญ่ในสวนป้าแก้ว");
    let sizes: Vec<(u64, u64, &str)> = photo["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["width"].as_u64().unwrap(),
                s["height"].as_u64().unwrap(),
                s["format"].as_str().unwrap(),
            )
        })
        .collect();
    // Only the sizes below its long side (600): 320, as WebP then JPEG.
    assert_eq!(sizes, vec![(213, 320, "webp"), (213, 320, "jpeg")]);
    let original = check_files(&w.app, &photo).await.to_rgb8();
    // The stored bottom-left quadrant (blue) is top-left once turned upright.
    let [r, g, b] = original.get_pixel(20, 20).0;
    assert!(b > 180 && r < 80 && g < 80, "top-left is {r},{g},{b}");

    // The product and its windows list the photo with its sizes; photo_urls stay as given.
    let (status, body) = json(
        w.app
            .get(&format!("/v1/products/{product}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["photos"][0]["id"], photo["id"]);
    assert_eq!(body["photos"][0]["sizes"].as_array().unwrap().len(), 2);
    assert!(body["photo_urls"].is_array());
    let win = {
        let res = w
            .app
            .post(&format!("/v1/products/{product}/windows"))
            .bearer_auth(&w.staff.token)
            .json(&window_body(100, json!({})))
            .send()
            .await
            .unwrap();
        let (status, body) = json(res).await;
        assert_eq!(status, 201, "{body}");
        body
    };
    assert_eq!(win["photos"][0]["original"], photo["original"]);
    let (_, list) = json(w.app.get("/v1/windows?status=all").send().await.unwrap()).await;
    let listed = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == win["id"])
        .unwrap();
    assert_eq!(listed["photos"][0]["id"], photo["id"]);
}

#[tokio::test]
async fn png_and_webp_are_taken_and_ordered_with_one_cover() {
    let w = World::new().await;
    let product = product(&w).await;
    // A raw body: the type is sniffed, whatever the header says.
    let (status, first) = upload_raw(
        &w.app,
        &w.staff.token,
        product,
        &png(2000, 1000),
        "application/octet-stream",
    )
    .await;
    assert_eq!(status, 201, "{first}");
    let sizes: Vec<(u64, u64)> = first["sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["width"].as_u64().unwrap(), s["height"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        sizes,
        vec![
            (320, 160),
            (320, 160),
            (800, 400),
            (800, 400),
            (1600, 800),
            (1600, 800)
        ]
    );
    // With transparency, the full size stays PNG.
    assert_eq!(first["original"]["format"], "png");
    check_files(&w.app, &first).await;
    let (status, second) = upload_form(
        &w.app,
        &w.producer.token,
        product,
        file_form(&webp(500, 700), "p.webp", "image/webp"),
    )
    .await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(
        (second["position"].as_i64(), second["cover"].as_bool()),
        (Some(2), Some(false))
    );
    check_files(&w.app, &second).await;

    // The second first, and the cover.
    let res = w
        .app
        .patch(&format!("/v1/products/{product}/photos/{}", second["id"]))
        .bearer_auth(&w.staff.token)
        .json(&json!({"position": 1, "cover": true, "alt_en": "Boxes ready"}))
        .send()
        .await
        .unwrap();
    let (status, list) = json(res).await;
    assert_eq!(status, 200, "{list}");
    let order: Vec<(i64, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_i64().unwrap(), p["cover"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        order,
        vec![
            (second["id"].as_i64().unwrap(), true),
            (first["id"].as_i64().unwrap(), false)
        ]
    );

    // Another LAO's staff may neither add nor remove.
    let (status, problem) = upload_raw(
        &w.app,
        &w.other_lao_staff.token,
        product,
        &png(50, 50),
        "image/png",
    )
    .await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("forbidden")));
    let res = w
        .app
        .delete(&format!("/v1/products/{product}/photos/{}", first["id"]))
        .bearer_auth(&w.other_lao_staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Deleting the cover: the other becomes cover and first; its files are gone.
    let res = w
        .app
        .delete(&format!("/v1/products/{product}/photos/{}", second["id"]))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (_, list) = json(
        w.app
            .get(&format!("/v1/products/{product}/photos"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        (list[0]["position"].as_i64(), list[0]["cover"].as_bool()),
        (Some(1), Some(true))
    );
    let (status, _, _) = fetch(&w.app, second["original"]["url"].as_str().unwrap()).await;
    assert_eq!(status, 404);

    // The same content uploaded twice: each photo has its own files, so deleting one never
    // takes the other's.
    let bytes = png(300, 200);
    let (_, a) = upload_raw(&w.app, &w.staff.token, product, &bytes, "image/png").await;
    let (_, b) = upload_raw(&w.app, &w.staff.token, product, &bytes, "image/png").await;
    assert_ne!(a["original"]["url"], b["original"]["url"]);
    let res = w
        .app
        .delete(&format!("/v1/products/{product}/photos/{}", a["id"]))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    check_files(&w.app, &b).await;

    // Refusals of the texts and the form: a NUL or a line break in an alt text, `cover: false`,
    // two files in one form.
    let res = w
        .app
        .patch(&format!("/v1/products/{product}/photos/{}", b["id"]))
        .bearer_auth(&w.staff.token)
        .json(&json!({"alt_th": "ก\u{0}ข", "cover": false}))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 422, "validation_failed").await;
    let codes: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec!["control_characters", "not_allowed"],
        "{problem}"
    );
    let form = file_form(&bytes, "a.png", "image/png").part(
        "file",
        Part::bytes(bytes.clone())
            .file_name("b.png")
            .mime_str("image/png")
            .unwrap(),
    );
    let (status, problem) = upload_form(&w.app, &w.staff.token, product, form).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "repeated");
}

#[tokio::test]
async fn a_twenty_first_photo_is_refused_before_it_is_read() {
    let w = World::new().await;
    let product = product(&w).await;
    let small = png(40, 30);
    for _ in 0..20 {
        let (status, body) = upload_raw(&w.app, &w.staff.token, product, &small, "image/png").await;
        assert_eq!(status, 201, "{body}");
    }
    // Even an unreadable body: the count is checked first.
    let (status, problem) = upload_raw(&w.app, &w.staff.token, product, b"junk", "image/png").await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["errors"][0]["code"], "too_many");
    let (_, list) = json(
        w.app
            .get(&format!("/v1/products/{product}/photos"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list.as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn bad_files_are_refused_with_problems() {
    let app = spawn_app_with(|c| c.max_photo_bytes = 200_000).await;
    let w = World::with_app(app).await;
    let product = product(&w).await;
    let t = &w.staff.token;
    // Cut short.
    let (status, problem) = upload_form(
        &w.app,
        t,
        product,
        file_form(&PHONE[..PHONE.len() / 2], "a.jpg", "image/jpeg"),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("unreadable_image")),
        "{problem}"
    );
    // A decompression bomb: refused from its header, at once.
    let started = std::time::Instant::now();
    let (status, problem) = upload_raw(&w.app, t, product, &bomb(), "image/png").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (422, Some("image_too_large")),
        "{problem}"
    );
    assert!(problem["detail"].as_str().unwrap().contains("50000"));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Text named .jpg, sent as image/jpeg: the content decides.
    let (status, problem) = upload_form(
        &w.app,
        t,
        product,
        file_form(b"hello, this is not a photo", "photo.jpg", "image/jpeg"),
    )
    .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (415, Some("unsupported_media_type")),
        "{problem}"
    );
    assert_eq!(
        problem["accepted"],
        json!(["image/jpeg", "image/png", "image/webp"])
    );
    // HEIC from an iPhone: a clear 415 in Thai too.
    let res = w
        .app
        .post(&format!("/v1/products/{product}/photos"))
        .bearer_auth(t)
        .header("accept-language", "th")
        .header("content-type", "image/heic")
        .body(heic())
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, 415, "unsupported_media_type").await;
    assert_eq!(problem["detected"], "image/heic");
    assert!(
        problem["detail"].as_str().unwrap().contains("JPEG"),
        "{problem}"
    );
    // Over the size limit.
    let (status, problem) =
        upload_raw(&w.app, t, product, &vec![0xFF; 300_000], "image/jpeg").await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (413, Some("payload_too_large")),
        "{problem}"
    );
    // A form without `file`.
    let (status, problem) =
        upload_form(&w.app, t, product, Form::new().text("alt_th", "ไม่มีไฟล์")).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem_fields(&problem), vec!["file"]);
    // Nothing was stored.
    let (_, list) = json(
        w.app
            .get(&format!("/v1/products/{product}/photos"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(list, json!([]));
    // Names that are not ours are never looked up.
    for name in [
        "../../etc/passwd",
        "abc.jpg",
        &format!("{}.gif", "a".repeat(64)),
    ] {
        let res = w
            .app
            .get(&format!("/v1/media/{name}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{name}");
    }
}

/// A Moto server (`moto_server` from PyPI's `moto[server]`) on a loopback port, stopped on drop.
struct Moto {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_binary() -> Option<String> {
    let candidates = [
        std::env::var("MOTO_SERVER").ok(),
        Some("moto_server".to_string()),
    ];
    candidates.into_iter().flatten().find(|bin| {
        std::process::Command::new(bin)
            .arg("--help")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

async fn start_moto(bin: &str) -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(&endpoint).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Moto { child, endpoint }
}

#[tokio::test]
async fn photos_live_in_s3_compatible_storage_too() {
    let bin = moto_binary();
    if !precondition(
        "moto_server (pip install 'moto[server]'; MOTO_SERVER=path)",
        bin.is_some(),
        Provider::Ci,
    ) {
        return;
    }
    let moto = start_moto(&bin.unwrap()).await;
    // The bucket (Moto takes unsigned requests).
    let res = reqwest::Client::new()
        .put(format!("{}/khongdee-photos", moto.endpoint))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let endpoint = moto.endpoint.clone();
    let app = spawn_app_with(move |c| {
        c.media_store = Some("s3://khongdee-photos/test".into());
        c.s3_endpoint = Some(endpoint);
        c.s3_region = "us-east-1".into();
        c.s3_access_key_id = Some("testing".into());
        c.s3_secret_access_key = Some("testing".into());
    })
    .await;
    let w = World::with_app(app).await;
    let product = product(&w).await;
    let (status, photo) = upload_form(
        &w.app,
        &w.staff.token,
        product,
        file_form(PHONE, "x.jpg", "image/jpeg"),
    )
    .await;
    assert_eq!(status, 201, "{photo}");
    check_files(&w.app, &photo).await;
    // The files are in the bucket, under the prefix.
    let bucket_listing = || async {
        reqwest::Client::new()
            .get(format!(
                "{}/khongdee-photos?list-type=2&prefix=test/photos/",
                moto.endpoint
            ))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let listing = bucket_listing().await;
    let original = photo["original"]["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    assert!(listing.contains(original), "{listing}");
    assert_eq!(
        listing.matches("<Key>").count(),
        3,
        "original and two sizes: {listing}"
    );
    // Deleting removes them from the bucket.
    let res = w
        .app
        .delete(&format!("/v1/products/{product}/photos/{}", photo["id"]))
        .bearer_auth(&w.staff.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let listing = bucket_listing().await;
    assert_eq!(listing.matches("<Key>").count(), 0, "{listing}");

    // The store down: 503 naming the photo storage (not the database), with Retry-After.
    drop(moto);
    let res = w
        .app
        .get(&format!(
            "/v1/media/{}-{}.jpg",
            "a".repeat(64),
            "b".repeat(16)
        ))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 503, "storage_unavailable").await;
}
