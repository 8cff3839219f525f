//! The image pipeline for product photos: recognise an upload by its bytes, decode it under
//! limits, turn it upright, and re-encode it without any metadata as one full-size original plus
//! WebP and JPEG renditions for `srcset`.
//!
//! Phone photos carry GPS coordinates, the phone model and the time in their EXIF; nothing of it
//! may reach a public URL, so every output is encoded afresh from pixels and never copies a
//! metadata block across.

use std::fmt;
use std::io::Cursor;

use image::codecs::jpeg::{JpegDecoder, JpegEncoder};
use image::codecs::png::{CompressionType, FilterType as PngFilter, PngDecoder, PngEncoder};
use image::codecs::webp::WebPDecoder;
use image::imageops::FilterType;
use image::{
    DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, Limits, RgbImage, RgbaImage,
};

/// Long side of each rendition, in pixels, ascending (for `srcset` widths on phones to desktops).
pub const SIZES: [u32; 3] = [320, 800, 1600];
/// Largest accepted image, in pixels (40 MP, more than any phone photo): a decompression-bomb guard.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Largest accepted width or height, in pixels.
pub const MAX_SIDE: u32 = 12_000;

/// Most the decoder may allocate at once, in bytes (512 MiB, the `image` crate's default).
const MAX_ALLOC: u64 = 512 * 1024 * 1024;
const ORIGINAL_JPEG_QUALITY: u8 = 90;
const RENDITION_JPEG_QUALITY: u8 = 82;
const RENDITION_WEBP_QUALITY: f32 = 80.0;

/// What an upload is, decided from its leading bytes by [`sniff`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Webp,
    /// HEIF/HEIC (iPhone default); recognised so it can be refused by name, not decoded.
    Heif,
}

impl ImageKind {
    /// The MIME type of the upload, e.g. `image/jpeg`; HEIF is reported as `image/heic`.
    pub fn mime(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
            ImageKind::Webp => "image/webp",
            ImageKind::Heif => "image/heic",
        }
    }
}

/// ISO-BMFF brands of HEVC-coded HEIF (what iPhones write), from ISO/IEC 23008-12 Annex B.
const HEVC_BRANDS: [&[u8; 4]; 6] = [b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"];
/// Structural HEIF brands; AVIF files list them too, so they count only without an AVIF brand.
const HEIF_BRANDS: [&[u8; 4]; 2] = [b"mif1", b"msf1"];
const AVIF_BRANDS: [&[u8; 4]; 2] = [b"avif", b"avis"];

/// The kind of image in `bytes`, from magic bytes only (never a file name or `Content-Type`):
/// JPEG `FF D8 FF`; PNG `89 50 4E 47 0D 0A 1A 0A`; WebP `RIFF`, 4 size bytes, `WEBP`; HEIF an
/// ISO-BMFF `ftyp` box at offset 4 whose major or compatible brands include a HEIF brand and
/// no AVIF brand (AVIF is `None`: it is not HEIC and we do not accept it).
pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageKind::Jpeg)
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some(ImageKind::Png)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(ImageKind::Webp)
    } else if is_heif(bytes) {
        Some(ImageKind::Heif)
    } else {
        None
    }
}

/// Whether `bytes` open with an `ftyp` box (size, `ftyp`, major brand, minor version,
/// compatible brands up to the box size) that names HEIF and not AVIF.
fn is_heif(bytes: &[u8]) -> bool {
    if bytes.len() < 12 || &bytes[4..8] != b"ftyp" {
        return false;
    }
    let box_size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let end = box_size.clamp(12, bytes.len());
    let major = bytes[8..12].chunks_exact(4);
    let compatible = bytes.get(16..end).unwrap_or_default().chunks_exact(4);
    let brands: Vec<&[u8]> = major.chain(compatible).collect();
    let has = |set: &[&[u8; 4]]| brands.iter().any(|b| set.iter().any(|s| &s[..] == *b));
    has(&HEVC_BRANDS) || (has(&HEIF_BRANDS) && !has(&AVIF_BRANDS))
}

/// How an output is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    Jpeg,
    Webp,
    Png,
}

impl OutputFormat {
    /// File extension without the dot: `jpg`, `webp`, `png`.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "jpg",
            OutputFormat::Webp => "webp",
            OutputFormat::Png => "png",
        }
    }

    /// The `Content-Type` to serve it with.
    pub fn mime(self) -> &'static str {
        match self {
            OutputFormat::Jpeg => "image/jpeg",
            OutputFormat::Webp => "image/webp",
            OutputFormat::Png => "image/png",
        }
    }
}

/// One encoded output: its size in pixels, its format and the encoded file (no metadata).
#[derive(Clone)]
pub struct Rendition {
    pub width: u32,
    pub height: u32,
    pub format: OutputFormat,
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Rendition {
    /// The byte count, not the bytes: a rendition in a log line or test failure stays one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendition")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .finish()
    }
}

/// Everything [`process`] makes from one upload.
#[derive(Debug, Clone)]
pub struct Processed {
    /// What was uploaded.
    pub kind: ImageKind,
    /// Width in pixels after the EXIF orientation was applied (as a person sees the photo).
    pub width: u32,
    /// Height in pixels after the EXIF orientation was applied.
    pub height: u32,
    /// Full size, upright, metadata stripped: JPEG quality 90 when every pixel is opaque, PNG
    /// when some pixel is (partly) transparent.
    pub original: Rendition,
    /// Per size of [`SIZES`] below the long side (or one at the image's own size when its long
    /// side is ≤ 320 px): WebP (lossy, quality 80) then JPEG (quality 82, transparency flattened
    /// on white); sizes ascending.
    pub renditions: Vec<Rendition>,
}

/// Why an upload was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Not JPEG, PNG or WebP: HEIF (no maintained pure-Rust decoder) or not an image at all.
    #[error("unsupported image type ({})", kind.map_or("not an image", |k| k.mime()))]
    Unsupported { kind: Option<ImageKind> },
    /// Over [`MAX_SIDE`] a side or [`MAX_PIXELS`] in all, decided from the header.
    #[error(
        "image too large: {width}x{height} px (at most {MAX_SIDE} px a side, {MAX_PIXELS} px in all)"
    )]
    TooLarge { width: u32, height: u32 },
    /// Truncated or corrupt (the decoder's or encoder's message).
    #[error("unreadable image: {0}")]
    Unreadable(String),
}

/// Decodes `bytes` (a whole upload) and makes the original and the renditions.
///
/// The size is read from the header and refused as [`ImageError::TooLarge`] before any pixel is
/// decoded; decoding then runs under `image::Limits` (`MAX_SIDE` a side, 512 MiB). The EXIF
/// orientation (JPEG, and PNG/WebP when their decoder reports one) is applied before anything
/// else. Renditions never upscale; the short side is rounded to the nearest pixel, at least 1
/// (600×400 to a long side of 320 gives 320×213). No output carries EXIF, XMP, ICC or any other
/// metadata: all are encoded from pixels, and the JPEG carries only its JFIF header.
/// CPU-bound (hundreds of milliseconds for a phone photo): run it on a blocking thread.
pub fn process(bytes: &[u8]) -> Result<Processed, ImageError> {
    let kind = sniff(bytes).ok_or(ImageError::Unsupported { kind: None })?;
    let upright = decode_upright(bytes, kind)?;
    let (width, height) = (upright.width(), upright.height());
    let sizes = rendition_sizes(width, height);
    let mut renditions = Vec::with_capacity(2 * sizes.len());

    // Resizing goes through `DynamicImage`, whose code the `image` crate compiled optimised;
    // generic `imageops::resize` would be instantiated here, unoptimised in debug builds.
    let original = match Pixels::from(upright) {
        Pixels::Opaque(rgb) => {
            let original = encode_jpeg(&rgb, ORIGINAL_JPEG_QUALITY)?;
            let full = DynamicImage::ImageRgb8(rgb);
            for (w, h) in sizes {
                let small = resized(&full, w, h).into_rgb8();
                renditions.push(encode_webp(small.as_raw(), w, h, false)?);
                renditions.push(encode_jpeg(&small, RENDITION_JPEG_QUALITY)?);
            }
            original
        }
        Pixels::Translucent(rgba) => {
            let original = encode_png(&rgba)?;
            // Resizing premultiplied colour keeps transparent pixels' colour out of the edges.
            let full = DynamicImage::ImageRgba8(premultiplied(rgba));
            for (w, h) in sizes {
                let small = resized(&full, w, h).into_rgba8();
                renditions.push(encode_webp(&unpremultiplied(&small), w, h, true)?);
                renditions.push(encode_jpeg(
                    &flattened_on_white(&small),
                    RENDITION_JPEG_QUALITY,
                )?);
            }
            original
        }
    };

    Ok(Processed {
        kind,
        width,
        height,
        original,
        renditions,
    })
}

/// Decodes under limits and applies the orientation; refuses oversize images from the header.
fn decode_upright(bytes: &[u8], kind: ImageKind) -> Result<DynamicImage, ImageError> {
    let unreadable = |e: image::ImageError| ImageError::Unreadable(e.to_string());
    let reader = Cursor::new(bytes);
    let mut decoder: Box<dyn ImageDecoder + '_> = match kind {
        // zune-jpeg (lenient) would fill a cut-off photo with grey rather than fail.
        ImageKind::Jpeg if !jpeg_is_complete(bytes) => {
            return Err(ImageError::Unreadable(
                "JPEG ends before its end-of-image marker".into(),
            ));
        }
        ImageKind::Jpeg => Box::new(JpegDecoder::new(reader).map_err(unreadable)?),
        // Side limits are checked below, so the refusal can carry the claimed size.
        ImageKind::Png => {
            Box::new(PngDecoder::with_limits(reader, Limits::default()).map_err(unreadable)?)
        }
        ImageKind::Webp => Box::new(WebPDecoder::new(reader).map_err(unreadable)?),
        ImageKind::Heif => return Err(ImageError::Unsupported { kind: Some(kind) }),
    };

    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageError::TooLarge { width, height });
    }
    if width == 0 || height == 0 {
        return Err(ImageError::Unreadable(format!("{width}x{height} px image")));
    }
    let too_large = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => ImageError::TooLarge { width, height },
        other => unreadable(other),
    };

    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    // As `ImageReader::decode` does: the output buffer counts against the allocation limit.
    limits.reserve(decoder.total_bytes()).map_err(too_large)?;
    decoder.set_limits(limits).map_err(too_large)?;

    let mut image = DynamicImage::from_decoder(decoder).map_err(too_large)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// Whether a JPEG reaches its end-of-image marker (EOI, `FF D9`): segments before the first scan
/// are skipped by their lengths (an EXIF thumbnail's own EOI does not count), and within scans an
/// `FF` is always followed by `00` or a marker, so an `FF D9` after the first scan is the EOI.
/// Bytes after EOI (a motion photo's video) are allowed.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut at = 2; // after SOI
    while let (Some(0xFF), Some(&marker)) = (bytes.get(at), bytes.get(at + 1)) {
        if marker == 0xFF {
            at += 1; // fill byte
            continue;
        }
        let Some(length) = bytes.get(at + 2..at + 4) else {
            return false;
        };
        at += 2 + usize::from(u16::from_be_bytes([length[0], length[1]]));
        if marker == 0xDA {
            let rest = bytes.get(at..).unwrap_or_default();
            return rest.windows(2).rev().any(|pair| pair == [0xFF, 0xD9]);
        }
    }
    false
}

/// Decoded pixels, 8 bits a channel, with alpha kept only when some pixel is not fully opaque.
enum Pixels {
    Opaque(RgbImage),
    Translucent(RgbaImage),
}

impl From<DynamicImage> for Pixels {
    fn from(image: DynamicImage) -> Self {
        if !image.color().has_alpha() {
            return Pixels::Opaque(image.into_rgb8());
        }
        let rgba = image.into_rgba8();
        if rgba.pixels().all(|p| p[3] == u8::MAX) {
            Pixels::Opaque(DynamicImage::ImageRgba8(rgba).into_rgb8())
        } else {
            Pixels::Translucent(rgba)
        }
    }
}

/// (width, height) in pixels of each rendition: long side = each size in [`SIZES`] below the
/// image's long side, or the image's own size when none is (a long side ≤ 320 px).
fn rendition_sizes(width: u32, height: u32) -> Vec<(u32, u32)> {
    let long = width.max(height);
    let scaled = |side: u32, size: u32| {
        let rounded = (u64::from(side) * u64::from(size) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(rounded).unwrap_or(size).max(1)
    };
    let sizes: Vec<u32> = SIZES.iter().copied().filter(|&s| s < long).collect();
    if sizes.is_empty() {
        return vec![(width, height)];
    }
    sizes
        .into_iter()
        .map(|size| (scaled(width, size), scaled(height, size)))
        .collect()
}

/// `image` at `width`×`height` (Lanczos3), or a copy when that is already its size.
fn resized(image: &DynamicImage, width: u32, height: u32) -> DynamicImage {
    if (image.width(), image.height()) == (width, height) {
        image.clone()
    } else {
        image.resize_exact(width, height, FilterType::Lanczos3)
    }
}

/// Colour channels multiplied by alpha (8-bit, rounded), for resizing without dark fringes.
fn premultiplied(mut image: RgbaImage) -> RgbaImage {
    for p in image.pixels_mut() {
        let a = u16::from(p[3]);
        for c in &mut p.0[..3] {
            *c = ((u16::from(*c) * a + 127) / 255) as u8;
        }
    }
    image
}

/// Straight RGBA bytes (row-major, 4 a pixel) from premultiplied pixels.
fn unpremultiplied(image: &RgbaImage) -> Vec<u8> {
    let mut out = image.as_raw().clone();
    for p in out.chunks_exact_mut(4) {
        let a = u16::from(p[3]);
        for c in &mut p[..3] {
            // Fully transparent (a = 0) pixels have no colour left: black.
            let straight = (u16::from(*c) * 255 + a / 2).checked_div(a).unwrap_or(0);
            *c = straight.min(255) as u8;
        }
    }
    out
}

/// Premultiplied pixels composited over white: colour + (255 − alpha).
fn flattened_on_white(image: &RgbaImage) -> RgbImage {
    RgbImage::from_fn(image.width(), image.height(), |x, y| {
        let p = image.get_pixel(x, y);
        let white = 255 - p[3];
        image::Rgb([0, 1, 2].map(|i| p[i].saturating_add(white)))
    })
}

fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Rendition, ImageError> {
    let mut bytes = Vec::new();
    // A fresh encoder writes SOI, the JFIF APP0 and the image: no EXIF or ICC unless set.
    JpegEncoder::new_with_quality(&mut bytes, quality)
        .encode_image(image)
        .map_err(|e| ImageError::Unreadable(format!("JPEG encoding failed: {e}")))?;
    Ok(Rendition {
        width: image.width(),
        height: image.height(),
        format: OutputFormat::Jpeg,
        bytes,
    })
}

fn encode_png(image: &RgbaImage) -> Result<Rendition, ImageError> {
    let mut bytes = Vec::new();
    PngEncoder::new_with_quality(&mut bytes, CompressionType::Default, PngFilter::Adaptive)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgba8,
        )
        .map_err(|e| ImageError::Unreadable(format!("PNG encoding failed: {e}")))?;
    Ok(Rendition {
        width: image.width(),
        height: image.height(),
        format: OutputFormat::Png,
        bytes,
    })
}

/// Lossy WebP from raw RGB (3 bytes a pixel) or RGBA (4) rows; libwebp's simple API writes a
/// bare VP8 (or VP8X + ALPH + VP8) file, never EXIF/XMP/ICCP chunks.
fn encode_webp(raw: &[u8], width: u32, height: u32, alpha: bool) -> Result<Rendition, ImageError> {
    let encoder = if alpha {
        webp::Encoder::from_rgba(raw, width, height)
    } else {
        webp::Encoder::from_rgb(raw, width, height)
    };
    let encoded = encoder
        .encode_simple(false, RENDITION_WEBP_QUALITY)
        .map_err(|e| ImageError::Unreadable(format!("WebP encoding failed: {e:?}")))?;
    Ok(Rendition {
        width,
        height,
        format: OutputFormat::Webp,
        bytes: encoded.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// 600×400 as stored, EXIF Orientation 6, phone Make/Model, DateTimeOriginal and GPS
    /// (16.7 N, 98.57 E); see `tests/fixtures/photos/make_fixtures.py`.
    const PHONE: &[u8] = include_bytes!("../../tests/fixtures/photos/phone_gps_orientation6.jpg");

    /// 300×200 progressive JPEG (ten scans), no EXIF.
    const PROGRESSIVE: &[u8] =
        include_bytes!("../../tests/fixtures/photos/progressive_300x200.jpg");

    const RED: [u8; 3] = [255, 0, 0];
    const GREEN: [u8; 3] = [0, 255, 0];
    const BLUE: [u8; 3] = [0, 0, 255];
    const YELLOW: [u8; 3] = [255, 255, 0];
    const WHITE: [u8; 3] = [255, 255, 255];

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    fn decoded(rendition: &Rendition) -> DynamicImage {
        let image = image::load_from_memory(&rendition.bytes).expect("output decodes");
        assert_eq!(
            (image.width(), image.height()),
            (rendition.width, rendition.height)
        );
        image
    }

    fn assert_colour_near(image: &DynamicImage, x: u32, y: u32, want: [u8; 3], tolerance: u8) {
        let got = image.to_rgb8().get_pixel(x, y).0;
        let close = got
            .iter()
            .zip(want)
            .all(|(g, w)| g.abs_diff(w) <= tolerance);
        assert!(
            close,
            "pixel ({x}, {y}) is {got:?}, want {want:?} ± {tolerance}"
        );
    }

    /// Markers of the segments before the scan data (SOI excluded, SOS included).
    fn jpeg_markers(bytes: &[u8]) -> Vec<u8> {
        assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
        let mut markers = Vec::new();
        let mut at = 2;
        while at + 4 <= bytes.len() && bytes[at] == 0xFF {
            markers.push(bytes[at + 1]);
            if bytes[at + 1] == 0xDA {
                break;
            }
            at += 2 + usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        }
        markers
    }

    /// Chunk names of a WebP (RIFF) file, in order.
    fn riff_chunks(bytes: &[u8]) -> Vec<String> {
        let mut names = Vec::new();
        let mut at = 12;
        while at + 8 <= bytes.len() {
            names.push(String::from_utf8_lossy(&bytes[at..at + 4]).into_owned());
            let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
            at += 8 + size + size % 2;
        }
        names
    }

    /// Chunk names of a PNG file, in order.
    fn png_chunks(bytes: &[u8]) -> Vec<String> {
        let mut names = Vec::new();
        let mut at = 8;
        while at + 8 <= bytes.len() {
            let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            names.push(String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned());
            at += 12 + size;
        }
        names
    }

    /// Asserts an output carries nothing but pixels: no EXIF/XMP/ICC segment or chunk.
    fn assert_no_metadata(rendition: &Rendition) {
        let bytes = &rendition.bytes;
        assert!(!contains(bytes, b"Exif") && !contains(bytes, b"http://ns.adobe.com/xap"));
        match rendition.format {
            // APP0 (JFIF) only: no APP1 (EXIF/XMP), APP2 (ICC) or any other application segment.
            OutputFormat::Jpeg => {
                let apps: Vec<u8> = jpeg_markers(bytes)
                    .into_iter()
                    .filter(|m| (0xE0..=0xEF).contains(m))
                    .collect();
                assert_eq!(apps, vec![0xE0]);
            }
            OutputFormat::Webp => {
                for chunk in riff_chunks(bytes) {
                    assert!(
                        ["VP8 ", "VP8L", "VP8X", "ALPH"].contains(&chunk.as_str()),
                        "{chunk}"
                    );
                }
            }
            OutputFormat::Png => {
                for chunk in png_chunks(bytes) {
                    assert!(
                        ["IHDR", "IDAT", "IEND"].contains(&chunk.as_str()),
                        "{chunk}"
                    );
                }
            }
        }
    }

    fn png_bytes(image: &RgbaImage) -> Vec<u8> {
        let mut bytes = Vec::new();
        PngEncoder::new(&mut bytes)
            .write_image(
                image.as_raw(),
                image.width(),
                image.height(),
                ExtendedColorType::Rgba8,
            )
            .unwrap();
        bytes
    }

    /// A PNG whose header claims `width`×`height` RGBA, with an empty zlib stream as its only
    /// IDAT: 57 bytes that would decode to gigabytes.
    fn bomb_png(width: u32, height: u32) -> Vec<u8> {
        const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
        let chunk = |name: &[u8; 4], data: &[u8]| {
            let mut out = (data.len() as u32).to_be_bytes().to_vec();
            out.extend_from_slice(name);
            out.extend_from_slice(data);
            let mut digest = CRC32.digest();
            digest.update(name);
            digest.update(data);
            out.extend_from_slice(&digest.finalize().to_be_bytes());
            out
        };
        let mut ihdr = width.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]); // 8 bits, RGBA, deflate, adaptive, no interlace
        let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        png.extend(chunk(b"IHDR", &ihdr));
        png.extend(chunk(
            b"IDAT",
            &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        ));
        png.extend(chunk(b"IEND", &[]));
        png
    }

    /// `ftyp` box as an iPhone writes it: major `heic`, compatible `mif1`, `MiHE`, `miaf`, `heic`.
    fn heic_header() -> Vec<u8> {
        let mut bytes = vec![0, 0, 0, 0x1C];
        for part in [b"ftyp", b"heic", b"\0\0\0\0", b"mif1", b"MiHE", b"heic"] {
            bytes.extend_from_slice(part);
        }
        bytes.extend_from_slice(&[0, 0, 0, 0x20, b'm', b'e', b't', b'a']);
        bytes
    }

    #[test]
    fn sniff_reads_magic_bytes_only() {
        assert_eq!(sniff(PHONE), Some(ImageKind::Jpeg)); // whatever the upload was called
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(ImageKind::Png)
        );
        assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some(ImageKind::Webp));
        assert_eq!(sniff(&heic_header()), Some(ImageKind::Heif));
        // Apple's other brands, and a file whose major brand is the structural `mif1`.
        let heix = [&[0, 0, 0, 0x14][..], b"ftypheix\0\0\0\0mif1"].concat();
        assert_eq!(sniff(&heix), Some(ImageKind::Heif));
        let mif1 = [&[0, 0, 0, 0x14][..], b"ftypmif1\0\0\0\0heic"].concat();
        assert_eq!(sniff(&mif1), Some(ImageKind::Heif));

        // AVIF lists `mif1` too, but it is not HEIC.
        let avif = [&[0, 0, 0, 0x1C][..], b"ftypavif\0\0\0\0avifmif1miaf"].concat();
        assert_eq!(sniff(&avif), None);
        // An MP4 is ISO-BMFF as well.
        let mp4 = [&[0, 0, 0, 0x18][..], b"ftypisom\0\0\x02\0isomiso2"].concat();
        assert_eq!(sniff(&mp4), None);
        // A text file named `photo.jpg`, a RIFF that is a WAV, and nothing at all.
        assert_eq!(sniff(b"just some notes, saved as photo.jpg\n"), None);
        assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(&[]), None);
        assert_eq!(sniff(&[0xFF, 0xD8]), None);

        assert_eq!(ImageKind::Heif.mime(), "image/heic");
        assert_eq!(OutputFormat::Jpeg.extension(), "jpg");
        assert_eq!(OutputFormat::Webp.mime(), "image/webp");
    }

    #[test]
    fn rendition_sizes_round_the_short_side_and_never_upscale() {
        assert_eq!(rendition_sizes(400, 600), vec![(213, 320)]);
        assert_eq!(
            rendition_sizes(2000, 1000),
            vec![(320, 160), (800, 400), (1600, 800)]
        );
        assert_eq!(rendition_sizes(1600, 1200), vec![(320, 240), (800, 600)]);
        assert_eq!(rendition_sizes(801, 3), vec![(320, 1), (800, 3)]);
        assert_eq!(rendition_sizes(320, 100), vec![(320, 100)]);
        assert_eq!(rendition_sizes(7, 5), vec![(7, 5)]);
    }

    #[test]
    fn phone_jpeg_is_turned_upright_and_loses_its_exif() {
        // The fixture does carry what must disappear.
        let latitude = [0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 42, 0, 0, 0, 1]; // 16/1 42/1 (rationals)
        let longitude = [0, 0, 0, 98, 0, 0, 0, 1, 0, 0, 0, 34, 0, 0, 0, 1]; // 98/1 34/1
        let traces: [&[u8]; 6] = [
            b"Exif",
            b"Samsung",
            b"Galaxy A14",
            b"2024:11:03",
            &latitude,
            &longitude,
        ];
        for trace in traces {
            assert!(contains(PHONE, trace));
        }

        let processed = process(PHONE).unwrap();
        assert_eq!(processed.kind, ImageKind::Jpeg);
        assert_eq!((processed.width, processed.height), (400, 600));
        assert_eq!(processed.original.format, OutputFormat::Jpeg);
        assert_eq!(
            (processed.original.width, processed.original.height),
            (400, 600)
        );
        let shapes: Vec<_> = processed
            .renditions
            .iter()
            .map(|r| (r.width, r.height, r.format))
            .collect();
        assert_eq!(
            shapes,
            vec![
                (213, 320, OutputFormat::Webp),
                (213, 320, OutputFormat::Jpeg)
            ]
        );

        for output in std::iter::once(&processed.original).chain(&processed.renditions) {
            for trace in traces {
                assert!(
                    !contains(&output.bytes, trace),
                    "{:?} keeps {trace:?}",
                    output.format
                );
            }
            assert_no_metadata(output);
            // Rotated 90° clockwise: stored bottom-left (blue) is now top-left, and so on.
            let image = decoded(output);
            let (w, h) = (output.width, output.height);
            assert_colour_near(&image, w / 4, h / 4, BLUE, 40);
            assert_colour_near(&image, 3 * w / 4, h / 4, RED, 40);
            assert_colour_near(&image, w / 4, 3 * h / 4, YELLOW, 40);
            assert_colour_near(&image, 3 * w / 4, 3 * h / 4, GREEN, 40);
        }
    }

    #[test]
    fn transparent_png_keeps_alpha_in_png_and_webp_and_is_flattened_in_jpeg() {
        // Left half opaque red, right half fully transparent (stored as transparent black).
        let source = RgbaImage::from_fn(2000, 1000, |x, _| {
            image::Rgba(if x < 1000 {
                [255, 0, 0, 255]
            } else {
                [0, 0, 0, 0]
            })
        });
        let started = Instant::now();
        let processed = process(&png_bytes(&source)).unwrap();
        let took = started.elapsed();

        assert_eq!(processed.kind, ImageKind::Png);
        assert_eq!((processed.width, processed.height), (2000, 1000));
        assert_eq!(processed.original.format, OutputFormat::Png);
        assert_no_metadata(&processed.original);
        assert_eq!(decoded(&processed.original).to_rgba8(), source); // lossless, full size

        let shapes: Vec<_> = processed
            .renditions
            .iter()
            .map(|r| (r.width, r.height, r.format))
            .collect();
        use OutputFormat::{Jpeg, Webp};
        let want = vec![
            (320, 160, Webp),
            (320, 160, Jpeg),
            (800, 400, Webp),
            (800, 400, Jpeg),
            (1600, 800, Webp),
            (1600, 800, Jpeg),
        ];
        assert_eq!(shapes, want);
        for rendition in &processed.renditions {
            assert_no_metadata(rendition);
            let image = decoded(rendition);
            let (w, h) = (rendition.width, rendition.height);
            assert_colour_near(&image, w / 4, h / 2, RED, 40);
            if rendition.format == Jpeg {
                assert_colour_near(&image, 3 * w / 4, h / 2, WHITE, 8);
                // Premultiplied resizing: no dark fringe where red meets transparent.
                let edge = image.to_rgb8().get_pixel(w / 2, h / 2).0;
                assert!(edge[0] > 200 && edge[1] > 80, "edge {edge:?}");
            } else {
                assert!(image.color().has_alpha());
                assert_eq!(image.to_rgba8().get_pixel(3 * w / 4, h / 2)[3], 0);
                let edge = image.to_rgba8().get_pixel(w / 2 - 1, h / 2).0;
                assert!(edge[0] > 200, "edge {edge:?}");
            }
        }
        assert!(took < Duration::from_secs(20), "took {took:?}");
    }

    #[test]
    fn small_opaque_png_gets_a_jpeg_original_and_one_rendition_at_its_own_size() {
        let source = RgbaImage::from_pixel(300, 120, image::Rgba([0, 0, 255, 255]));
        let processed = process(&png_bytes(&source)).unwrap();
        assert_eq!(processed.original.format, OutputFormat::Jpeg);
        let shapes: Vec<_> = processed
            .renditions
            .iter()
            .map(|r| (r.width, r.height, r.format))
            .collect();
        assert_eq!(
            shapes,
            vec![
                (300, 120, OutputFormat::Webp),
                (300, 120, OutputFormat::Jpeg)
            ]
        );
        assert_colour_near(&decoded(&processed.renditions[0]), 150, 60, BLUE, 24);
    }

    #[test]
    fn webp_upload_is_accepted() {
        let source = RgbImage::from_fn(640, 480, |x, _| {
            image::Rgb(if x < 320 { GREEN } else { RED })
        });
        let upload = webp::Encoder::from_rgb(source.as_raw(), 640, 480)
            .encode(90.0)
            .to_vec();
        let processed = process(&upload).unwrap();
        assert_eq!(processed.kind, ImageKind::Webp);
        assert_eq!((processed.width, processed.height), (640, 480));
        let shapes: Vec<_> = processed
            .renditions
            .iter()
            .map(|r| (r.width, r.height, r.format))
            .collect();
        assert_eq!(
            shapes,
            vec![
                (320, 240, OutputFormat::Webp),
                (320, 240, OutputFormat::Jpeg)
            ]
        );
        let original = decoded(&processed.original);
        assert_colour_near(&original, 100, 240, GREEN, 40);
        assert_colour_near(&original, 540, 240, RED, 40);
    }

    #[test]
    fn truncated_uploads_are_unreadable() {
        let png = png_bytes(&RgbaImage::from_fn(64, 64, |x, y| {
            image::Rgba([x as u8, y as u8, 7, 200])
        }));
        let webp = webp::Encoder::from_rgb(&[90; 64 * 64 * 3], 64, 64)
            .encode(80.0)
            .to_vec();
        for (name, whole) in [("jpeg", PHONE), ("png", &png[..]), ("webp", &webp[..])] {
            for cut in [whole.len() / 2, 40, 12] {
                let refused = process(&whole[..cut]);
                assert!(
                    matches!(refused, Err(ImageError::Unreadable(_))),
                    "{name} at {cut}: {refused:?}"
                );
            }
        }
        // A JPEG must reach its end-of-image marker (a PNG cut inside IEND still decodes whole).
        assert!(matches!(
            process(&PHONE[..PHONE.len() - 1]),
            Err(ImageError::Unreadable(_))
        ));
        // A multi-scan (progressive) JPEG is complete only at its last scan's end.
        assert!(process(PROGRESSIVE).is_ok());
        let first_scans = &PROGRESSIVE[..PROGRESSIVE.len() * 2 / 3];
        assert!(matches!(
            process(first_scans),
            Err(ImageError::Unreadable(_))
        ));
        // An EXIF thumbnail's own end-of-image marker inside APP1 does not make a cut file whole.
        let thumbnail = encode_jpeg(&RgbImage::from_pixel(8, 8, image::Rgb(RED)), 50).unwrap();
        let app1 = [&b"Exif\0\0"[..], &thumbnail.bytes].concat();
        let length = u16::try_from(app1.len() + 2).unwrap().to_be_bytes();
        let with_thumbnail = [&PHONE[..2], &[0xFF, 0xE1], &length, &app1, &PHONE[2..]].concat();
        assert!(process(&with_thumbnail).is_ok());
        let cut = &with_thumbnail[..with_thumbnail.len() / 2];
        assert!(matches!(process(cut), Err(ImageError::Unreadable(_))));
        // Whatever follows the end-of-image marker (a motion photo's video) is not truncation.
        let trailing = [PHONE, b"\0\0\0\x18ftypmp42 trailing video"].concat();
        assert!(process(&trailing).is_ok());
        assert!(jpeg_is_complete(PHONE));
    }

    #[test]
    fn bomb_png_is_refused_from_its_header() {
        for (width, height) in [(50_000, 50_000), (12_001, 10), (10_000, 10_000)] {
            let started = Instant::now();
            let refused = process(&bomb_png(width, height));
            assert!(
                matches!(refused, Err(ImageError::TooLarge { width: w, height: h }) if (w, h) == (width, height)),
                "{refused:?}"
            );
            assert!(
                started.elapsed() < Duration::from_millis(200),
                "{:?}",
                started.elapsed()
            );
        }
    }

    #[test]
    fn jpeg_claiming_a_huge_frame_is_refused_from_its_header() {
        let sof0 = PHONE.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        let mut huge = PHONE.to_vec();
        huge[sof0 + 5..sof0 + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]); // 60000 × 60000
        let started = Instant::now();
        let refused = process(&huge);
        assert!(
            matches!(
                refused,
                Err(ImageError::TooLarge {
                    width: 60_000,
                    height: 60_000
                })
            ),
            "{refused:?}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(200),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn text_and_heic_are_unsupported() {
        let text = process(b"just some notes, saved as photo.jpg\n");
        assert!(
            matches!(text, Err(ImageError::Unsupported { kind: None })),
            "{text:?}"
        );
        let heic = process(&heic_header());
        assert!(
            matches!(
                heic,
                Err(ImageError::Unsupported {
                    kind: Some(ImageKind::Heif)
                })
            ),
            "{heic:?}"
        );
    }
}
