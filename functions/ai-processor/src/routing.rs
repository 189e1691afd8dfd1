//! Which analysis an upload gets: from its key prefix and content type (the object's metadata,
//! falling back to the file extension, then to what the prefix holds).

pub use shared::events::contracts::media::MediaKind;

/// Media-bucket prefixes that receive uploads, and the kind each is meant for.
pub const UPLOAD_PREFIXES: [(&str, MediaKind); 5] = [
    ("covers/", MediaKind::Image),
    ("avatars/", MediaKind::Image),
    ("videos/", MediaKind::Video),
    ("audio/", MediaKind::Audio),
    ("documents/", MediaKind::Document),
];

/// Results-bucket prefixes this suite writes; never analysed (no recursion).
pub const RESULT_PREFIXES: [&str; 5] = [
    "analysis/",
    "transcripts/",
    "text/",
    "sagemaker-async/",
    "idempotency/",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Analyse(MediaKind),
    Skip(String),
}

/// The upload prefix a key lives under, with the kind that prefix is meant for.
pub fn upload_prefix(key: &str) -> Option<(&'static str, MediaKind)> {
    UPLOAD_PREFIXES
        .iter()
        .copied()
        .find(|(prefix, _)| key.starts_with(prefix))
}

/// The upload prefix of a key and the kind it is meant for, or why the key is no upload.
/// Needs no metadata, so it is checked before anything is fetched.
pub fn upload_area(key: &str) -> Result<(&'static str, MediaKind), String> {
    if key
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Err(format!(
            "{key:?} has a `.` or `..` segment, which tools that normalise paths read as another key; not analysed"
        ));
    }
    if key.chars().any(char::is_control) {
        return Err(format!(
            "{} has control characters; not analysed",
            key.escape_debug()
        ));
    }
    if RESULT_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return Err(format!(
            "{key} is under a results prefix; results are never analysed"
        ));
    }
    upload_prefix(key).ok_or_else(|| {
        format!(
            "{key} is not under an upload prefix (covers/, avatars/, videos/, audio/, documents/)"
        )
    })
}

/// Decides what to do with an object, given its key and its `Content-Type` (if any).
///
/// The content type wins when it names a media type; a generic one (`application/octet-stream`,
/// missing) defers to the extension; a key without extension gets the kind of its prefix. An
/// object analysed as another kind than its prefix suggests is still analysed by what it is,
/// so a video dropped under `covers/` is not left unmoderated.
pub fn route(key: &str, content_type: Option<&str>) -> Route {
    let (prefix, prefix_kind) = match upload_area(key) {
        Ok(found) => found,
        Err(reason) => return Route::Skip(reason),
    };
    if prefix_kind == MediaKind::Document {
        return route_document(key, content_type);
    }
    match content_type.map(essence).filter(|ct| !is_generic(ct)) {
        Some(ct) => match kind_of_content_type(&ct) {
            Some(kind) => Route::Analyse(kind),
            None => Route::Skip(format!(
                "content type {ct} of {key} is not an image, video or audio"
            )),
        },
        None => match extension(key) {
            None => Route::Analyse(prefix_kind),
            Some(ext) => match kind_of_extension(&ext) {
                Some(kind) => Route::Analyse(kind),
                None => Route::Skip(format!(
                    "{key} has no media content type and its extension .{ext} is not a known \
                     image, video or audio format (prefix {prefix})"
                )),
            },
        },
    }
}

/// Under `documents/`: PDF, PNG, JPEG and TIFF have their text extracted; anything else is
/// skipped (a video there is not moderated as one: documents are a separate upload path).
fn route_document(key: &str, content_type: Option<&str>) -> Route {
    match document_format(key, content_type) {
        Some(_) => Route::Analyse(MediaKind::Document),
        None => Route::Skip(format!(
            "{key} is not a PDF, PNG, JPEG or TIFF document (content type {})",
            content_type.unwrap_or("none")
        )),
    }
}

/// The format of a document text can be extracted from, as its canonical content type
/// (`application/pdf`, `image/png`, `image/jpeg`, `image/tiff`): by the content type when it
/// names one, else by the extension. `None`: not such a document.
pub fn document_format(key: &str, content_type: Option<&str>) -> Option<&'static str> {
    const TYPES: [(&str, &str); 5] = [
        ("application/pdf", "application/pdf"),
        ("image/png", "image/png"),
        ("image/jpeg", "image/jpeg"),
        ("image/jpg", "image/jpeg"),
        ("image/tiff", "image/tiff"),
    ];
    const EXTENSIONS: [(&str, &str); 6] = [
        ("pdf", "application/pdf"),
        ("png", "image/png"),
        ("jpg", "image/jpeg"),
        ("jpeg", "image/jpeg"),
        ("tif", "image/tiff"),
        ("tiff", "image/tiff"),
    ];
    let find = |table: &[(&str, &'static str)], name: &str| {
        table.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    };
    match content_type.map(essence).filter(|ct| !is_generic(ct)) {
        Some(ct) => find(&TYPES, &ct),
        None => extension(key).and_then(|ext| find(&EXTENSIONS, &ext)),
    }
}

/// `image/JPEG; charset=x` -> `image/jpeg`.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn is_generic(content_type: &str) -> bool {
    matches!(
        content_type,
        "" | "application/octet-stream"
            | "binary/octet-stream"
            | "application/x-www-form-urlencoded"
    )
}

fn kind_of_content_type(content_type: &str) -> Option<MediaKind> {
    let (top, sub) = content_type.split_once('/')?;
    match top {
        "image" => Some(MediaKind::Image),
        "video" => Some(MediaKind::Video),
        "audio" => Some(MediaKind::Audio),
        "application" if matches!(sub, "mp4" | "x-mpegurl" | "vnd.apple.mpegurl") => {
            Some(MediaKind::Video)
        }
        "application" if sub == "ogg" => Some(MediaKind::Audio),
        _ => None,
    }
}

fn extension(key: &str) -> Option<String> {
    let file = key.rsplit('/').next().unwrap_or(key);
    let (stem, ext) = file.rsplit_once('.')?;
    if stem.is_empty() || ext.is_empty() {
        return None;
    }
    Some(ext.to_ascii_lowercase())
}

fn kind_of_extension(ext: &str) -> Option<MediaKind> {
    match ext {
        "jpg" | "jpeg" | "png" | "gif" | "webp" | "bmp" | "tif" | "tiff" | "heic" | "heif" => {
            Some(MediaKind::Image)
        }
        "mp4" | "m4v" | "mov" | "mkv" | "webm" | "avi" | "mpeg" | "mpg" | "3gp" | "flv" => {
            Some(MediaKind::Video)
        }
        "mp3" | "wav" | "flac" | "m4a" | "aac" | "ogg" | "oga" | "opus" | "amr" | "wma" => {
            Some(MediaKind::Audio)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_wins_then_extension_then_prefix() {
        assert_eq!(
            route("covers/a.bin", Some("image/PNG; q=1")),
            Route::Analyse(MediaKind::Image)
        );
        assert_eq!(
            route("videos/clip.MOV", Some("application/octet-stream")),
            Route::Analyse(MediaKind::Video)
        );
        assert_eq!(route("audio/voice", None), Route::Analyse(MediaKind::Audio));
        // A video under covers/ is analysed as a video rather than skipped.
        assert_eq!(
            route("covers/trailer.mp4", None),
            Route::Analyse(MediaKind::Video)
        );
    }

    #[test]
    fn documents_are_routed_to_text_extraction_by_type_or_extension() {
        assert_eq!(
            route("documents/contract.pdf", Some("application/pdf")),
            Route::Analyse(MediaKind::Document)
        );
        assert_eq!(
            route("documents/scan.TIFF", None),
            Route::Analyse(MediaKind::Document)
        );
        assert!(matches!(
            route("documents/clip.mp4", Some("video/mp4")),
            Route::Skip(_)
        ));
        assert!(matches!(
            route("text/documents/a.pdf.json", None),
            Route::Skip(_)
        ));
        assert_eq!(
            document_format("documents/scan.JPG", Some("binary/octet-stream")),
            Some("image/jpeg")
        );
        assert_eq!(
            document_format("documents/a.pdf", Some("image/jpg")),
            Some("image/jpeg")
        );
        assert_eq!(document_format("documents/a.pdf", Some("text/plain")), None);
    }

    #[test]
    fn non_media_and_foreign_prefixes_are_skipped_with_a_reason() {
        let Route::Skip(reason) = route("covers/readme.txt", Some("text/plain")) else {
            panic!("text must be skipped")
        };
        assert!(reason.contains("text/plain"), "{reason}");
        assert!(matches!(route("covers/doc.pdf", None), Route::Skip(_)));
        assert!(matches!(route("temp/x.jpg", None), Route::Skip(_)));
        let Route::Skip(reason) = route("analysis/covers/x.jpg.json", None) else {
            panic!("results must be skipped")
        };
        assert!(reason.contains("results prefix"), "{reason}");
    }
}
