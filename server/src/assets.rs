//! Static files: the client page and everything in `assets/`, plus the wasm client that
//! `build.rs` leaves in `$OUT_DIR/pkg/` (with gzip -9 copies in `pkg-gzip/`), all embedded in the
//! binary (debug builds too, through rust-embed's `debug-embed`), so one copied executable serves
//! the whole game. Responses carry a strong ETag from the content's SHA-256 (hashed at compile
//! time) and `Cache-Control: no-cache`: browsers revalidate with a cheap 304. `--assets DIR`
//! serves a modder's copies from disk instead ([`configure_from`]).
//!
//! The embedded files are never compressed per request: `build.rs` gzips each once (where that
//! makes it smaller), a client that accepts gzip gets that copy and any other the plain bytes.
//! Compressing on the fly for a client that asks only for brotli cost about 4 ms of CPU per
//! download of the wasm, about 90 times the cost of sending it, for anyone to ask in a loop.

use std::borrow::Cow;
use std::path::PathBuf;

use actix_files::Files;
use actix_web::dev::{ServiceRequest, fn_service};
use actix_web::http::Method;

use actix_web::http::header::{
    self, AcceptEncoding, CacheControl, CacheDirective, ETag, Encoding, EntityTag, Header, IfNoneMatch,
};
use actix_web::{HttpRequest, HttpResponse, guard, middleware, web};
use rust_embed::{EmbeddedFile, RustEmbed};

/// `assets/` at the workspace root: the page, its stylesheet, icons, sounds and maps, as
/// `build.rs` copies them (the comments out of the stylesheets and pages).
#[derive(RustEmbed)]
#[folder = "$OUT_DIR/assets/"]
struct Assets;

/// The wasm-bindgen output for the browser client (`skirmish_web.js`, `skirmish_web_bg.wasm`).
#[derive(RustEmbed)]
#[folder = "$OUT_DIR/pkg/"]
struct Pkg;

/// The same files gzipped at the best level by `build.rs`, named `<file>.gz`. Served as they
/// are to clients that accept gzip.
#[derive(RustEmbed)]
#[folder = "$OUT_DIR/pkg-gzip/"]
struct PkgGzip;

/// `assets/` gzipped the same way (only the files that gzip makes smaller).
#[derive(RustEmbed)]
#[folder = "$OUT_DIR/assets-gzip/"]
struct AssetsGzip;

/// One encoding of a file's bytes with its own strong ETag (RFC 9110: a strong validator
/// differs between the gzip and identity representations).
#[derive(Debug, Clone)]
struct Variant {
    body: web::Bytes,
    etag: EntityTag,
}

impl Variant {
    fn new(file: EmbeddedFile) -> Variant {
        // 128 bits of SHA-256 in hex: collision-free for our purposes and a short header.
        let hash = file.metadata.sha256_hash();
        let tag: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
        let body = match file.data {
            Cow::Borrowed(bytes) => web::Bytes::from_static(bytes),
            Cow::Owned(bytes) => web::Bytes::from(bytes),
        };
        Variant { body, etag: EntityTag::new_strong(tag) }
    }
}

/// One servable file, prepared once at start-up.
#[derive(Debug, Clone)]
struct StaticFile {
    identity: Variant,
    /// Pre-compressed copy, when the build made one.
    gzip: Option<Variant>,
    content_type: &'static str,
}

impl StaticFile {
    fn new(path: &str, file: EmbeddedFile, gzip: Option<EmbeddedFile>) -> StaticFile {
        StaticFile { identity: Variant::new(file), gzip: gzip.map(Variant::new), content_type: content_type(path) }
    }

    /// The embedded copy of `assets/{path}`, with its gzipped copy if the build made one.
    fn asset(path: &str) -> Option<StaticFile> {
        let file = Assets::get(path)?;
        Some(StaticFile::new(path, file, AssetsGzip::get(&format!("{path}.gz"))))
    }

    /// Picks the encoding, then answers 304 when the client already holds that representation
    /// (`If-None-Match` uses the weak comparison, RFC 9110 §13.1.2), else sends it.
    fn respond(&self, req: &HttpRequest) -> HttpResponse {
        let gzip = self.gzip.as_ref().filter(|_| accepts_gzip(req));
        let variant = gzip.unwrap_or(&self.identity);
        let fresh = match IfNoneMatch::parse(req) {
            Ok(IfNoneMatch::Any) => true,
            Ok(IfNoneMatch::Items(tags)) => tags.iter().any(|t| t.weak_eq(&variant.etag)),
            // A malformed header is ignored, as if absent.
            Err(_) => false,
        };
        let mut res = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
        res.insert_header(ETag(variant.etag.clone())).insert_header(CacheControl(vec![CacheDirective::NoCache]));
        if self.gzip.is_some() {
            res.insert_header((header::VARY, "accept-encoding"));
        }
        if fresh {
            return res.finish();
        }
        if gzip.is_some() {
            res.insert_header((header::CONTENT_ENCODING, "gzip"));
        }
        res.content_type(self.content_type).body(variant.body.clone())
    }
}

/// True when the request's `Accept-Encoding` prefers gzip to no encoding (a missing header means
/// identity, so plain `curl` gets plain bytes).
fn accepts_gzip(req: &HttpRequest) -> bool {
    let supported = [Encoding::gzip(), Encoding::identity()];
    AcceptEncoding::parse(req).ok().and_then(|accept| accept.negotiate(supported.iter())) == Some(Encoding::gzip())
}

/// Registers one route per embedded file (`/` is `index.html`, `/pkg/...` the wasm client).
/// Exact routes rather than a catch-all, so the app's other routes and its 404 stay untouched.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for path in Assets::iter() {
        let Some(file) = StaticFile::asset(&path) else { continue };
        if path == "index.html" {
            route(cfg, "/", file.clone());
        }
        route(cfg, &format!("/{path}"), file);
    }
    configure_pkg(cfg);
}

/// [`configure`], or with `--assets DIR` (`dir`): the page, style, sounds and anything else
/// from that directory, read at each request so a modder sees a change on reload, and the
/// embedded copy of any file the directory lacks. The wasm client always comes from the binary:
/// it must match the server's protocol.
pub fn configure_from(dir: Option<PathBuf>) -> impl Fn(&mut web::ServiceConfig) + Clone {
    move |cfg| {
        let Some(dir) = &dir else { return configure(cfg) };
        configure_pkg(cfg);
        let files =
            Files::new("/", dir).index_file("index.html").use_etag(true).use_last_modified(true).default_handler(
                fn_service(|req: ServiceRequest| async move {
                    let response = embedded(req.request());
                    Ok(req.into_response(response))
                }),
            );
        // Revalidate every time, as the embedded files do, or an edit would hide behind the
        // browser's heuristic cache.
        let no_cache = middleware::DefaultHeaders::new().add((header::CACHE_CONTROL, "no-cache"));
        // The modder's files are compressed per request, as they may change at any time: that
        // mode is for making a game, not for hosting one on the open internet.
        cfg.service(web::scope("").wrap(no_cache).wrap(middleware::Compress::default()).service(files));
    }
}

/// The embedded copy of the asset a request names (`/` is `index.html`), or 404.
fn embedded(req: &HttpRequest) -> HttpResponse {
    let path = req.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    match StaticFile::asset(path) {
        Some(file) if req.method() == Method::GET || req.method() == Method::HEAD => file.respond(req),
        _ => HttpResponse::NotFound().finish(),
    }
}

/// The wasm client's routes.
fn configure_pkg(cfg: &mut web::ServiceConfig) {
    for path in Pkg::iter() {
        let Some(file) = Pkg::get(&path) else { continue };
        let gzip = PkgGzip::get(&format!("{path}.gz"));
        route(cfg, &format!("/pkg/{path}"), StaticFile::new(&path, file, gzip));
    }
}

fn route(cfg: &mut web::ServiceConfig, path: &str, file: StaticFile) {
    // `{` and `}` would make the path a pattern; our asset names never need them.
    if path.contains(['{', '}']) {
        tracing::warn!(path, "asset not served: braces in its name");
        return;
    }
    cfg.service(
        web::resource(path).route(
            web::route()
                .guard(guard::Any(guard::Get()).or(guard::Head()))
                .to(move |req: HttpRequest| std::future::ready(file.respond(&req))),
        ),
    );
}

/// The `Content-Type` for a file name; unknown kinds are served as opaque bytes.
fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "json" | "map" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "ogg" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use actix_web::App;
    use actix_web::http::{StatusCode, header};
    use actix_web::test as atest;

    use super::*;

    async fn get(path: &str, if_none_match: Option<&str>) -> actix_web::dev::ServiceResponse {
        let app = atest::init_service(App::new().configure(configure)).await;
        let mut req = atest::TestRequest::get().uri(path);
        if let Some(tag) = if_none_match {
            req = req.insert_header((header::IF_NONE_MATCH, tag));
        }
        atest::call_service(&app, req.to_request()).await
    }

    fn header_of(res: &actix_web::dev::ServiceResponse, name: header::HeaderName) -> String {
        let value = res.headers().get(&name).unwrap_or_else(|| panic!("no {name} header"));
        value.to_str().expect("ASCII header").to_owned()
    }

    fn etag_of(res: &actix_web::dev::ServiceResponse) -> String {
        header_of(res, header::ETAG)
    }

    #[actix_web::test]
    async fn serves_page_and_client_with_types_and_revalidation_headers() {
        for (path, ty) in [
            ("/", "text/html; charset=utf-8"),
            ("/index.html", "text/html; charset=utf-8"),
            ("/style.css", "text/css; charset=utf-8"),
            ("/pkg/skirmish_web.js", "text/javascript; charset=utf-8"),
            ("/pkg/skirmish_web_bg.wasm", "application/wasm"),
            ("/favicon.svg", "image/svg+xml"),
            ("/sounds/shoot.wav", "audio/wav"),
            ("/sounds/hit.wav", "audio/wav"),
            ("/sounds/explosion.wav", "audio/wav"),
            ("/sounds/pickup.wav", "audio/wav"),
        ] {
            let res = get(path, None).await;
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            assert_eq!(header_of(&res, header::CONTENT_TYPE), ty, "{path}");
            assert_eq!(header_of(&res, header::CACHE_CONTROL), "no-cache", "{path}");
            let tag = etag_of(&res);
            assert!(tag.starts_with('"') && tag.len() == 34, "strong 128-bit tag for {path}: {tag}");
            let body = atest::read_body(res).await;
            assert!(!body.is_empty(), "{path}");
        }
        let wasm = atest::read_body(get("/pkg/skirmish_web_bg.wasm", None).await).await;
        assert_eq!(&wasm[..4], b"\0asm", "a wasm module");
        let wav = atest::read_body(get("/sounds/shoot.wav", None).await).await;
        assert_eq!((&wav[..4], &wav[8..12]), (&b"RIFF"[..], &b"WAVE"[..]), "a WAV file");
    }

    #[actix_web::test]
    async fn if_none_match_gets_304_only_for_the_current_version() {
        let tag = etag_of(&get("/style.css", None).await);
        for header in [tag.clone(), format!("W/{tag}"), format!("\"other\", {tag}"), "*".to_owned()] {
            let res = get("/style.css", Some(&header)).await;
            assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "If-None-Match: {header}");
            assert_eq!(etag_of(&res), tag);
            assert!(atest::read_body(res).await.is_empty());
        }
        let res = get("/style.css", Some("\"stale\"")).await;
        assert_eq!(res.status(), StatusCode::OK);
        // Different files, different tags (`/` and `/index.html` are the same file).
        assert_ne!(etag_of(&get("/", None).await), tag);
        assert_eq!(etag_of(&get("/", None).await), etag_of(&get("/index.html", None).await));
    }

    async fn get_wasm(accept_encoding: Option<&str>, if_none_match: Option<&str>) -> actix_web::dev::ServiceResponse {
        let app = atest::init_service(App::new().configure(configure)).await;
        let mut req = atest::TestRequest::get().uri("/pkg/skirmish_web_bg.wasm");
        if let Some(accept) = accept_encoding {
            req = req.insert_header((header::ACCEPT_ENCODING, accept));
        }
        if let Some(tag) = if_none_match {
            req = req.insert_header((header::IF_NONE_MATCH, tag));
        }
        atest::call_service(&app, req.to_request()).await
    }

    #[actix_web::test]
    async fn the_client_goes_out_pre_gzipped_to_those_who_accept_it() {
        use std::io::Read;

        let plain = get_wasm(None, None).await;
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(header_of(&plain, header::VARY), "accept-encoding");
        let plain_tag = etag_of(&plain);
        let plain_body = atest::read_body(plain).await;

        let gz = get_wasm(Some("gzip, deflate, br, zstd"), None).await;
        assert_eq!(header_of(&gz, header::CONTENT_ENCODING), "gzip");
        assert_eq!(header_of(&gz, header::CONTENT_TYPE), "application/wasm");
        let gz_tag = etag_of(&gz);
        assert_ne!(gz_tag, plain_tag, "each representation has its own strong tag");
        let gz_body = atest::read_body(gz).await;
        assert!(gz_body.len() < plain_body.len() / 2, "{} vs {} bytes", gz_body.len(), plain_body.len());
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&gz_body[..]).read_to_end(&mut unzipped).expect("valid gzip");
        assert_eq!(unzipped, plain_body, "same bytes once decompressed");

        // Revalidation compares against the representation the client would get.
        assert_eq!(get_wasm(Some("gzip"), Some(&gz_tag)).await.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(get_wasm(Some("gzip"), Some(&plain_tag)).await.status(), StatusCode::OK);
        assert_eq!(get_wasm(None, Some(&plain_tag)).await.status(), StatusCode::NOT_MODIFIED);
        // gzip refused outright: plain bytes.
        let refused = get_wasm(Some("gzip;q=0, identity"), None).await;
        assert!(refused.headers().get(header::CONTENT_ENCODING).is_none());
    }

    #[actix_web::test]
    async fn unknown_paths_and_other_methods_are_refused() {
        assert_eq!(get("/nope.js", None).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(get("/pkg/", None).await.status(), StatusCode::NOT_FOUND);
        assert_eq!(get("/../Cargo.toml", None).await.status(), StatusCode::NOT_FOUND);
        let app = atest::init_service(App::new().configure(configure)).await;
        let res = atest::call_service(&app, atest::TestRequest::post().uri("/").to_request()).await;
        assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(content_type("a/b.WASM"), "application/wasm");
        assert_eq!(content_type("maps/arena.json"), "application/json");
        assert_eq!(content_type("README"), "application/octet-stream");
    }

    /// The whole first visit (page, style, icon, sounds, JS glue and wasm), gzipped as served,
    /// must stay within 100 KB: the reason the client decodes MessagePack by hand instead of
    /// through rmp-serde. Files the build did not gzip (it would not make them smaller) count whole.
    #[test]
    fn the_page_downloads_in_at_most_100_kb_gzipped() {
        let mut total = 0;
        let mut files = Vec::new();
        // As served to a browser: the gzipped copy where the build made one, else the file.
        for path in Assets::iter().filter(|p| !p.starts_with("maps/") && !p.ends_with(".md")) {
            let size = AssetsGzip::get(&format!("{path}.gz"))
                .map_or_else(|| Assets::get(&path).expect("listed").data.len(), |gz| gz.data.len());
            files.push(format!("{path} {size}"));
            total += size;
        }
        for path in Pkg::iter() {
            let gz = PkgGzip::get(&format!("{path}.gz")).expect("every client file is pre-gzipped");
            files.push(format!("pkg/{path} {}", gz.data.len()));
            total += gz.data.len();
        }
        assert!(files.iter().any(|f| f.starts_with("pkg/skirmish_web_bg.wasm")), "{files:?}");
        eprintln!("the page is {total} bytes gzipped: {files:?}");
        assert!(total <= 100 * 1000, "the page is {total} bytes gzipped: {files:?}");
    }

    /// The stylesheet and the page are served without their comments (`build.rs`), and with
    /// nothing else missing: blanks aside, each is its source with the comments cut out.
    #[test]
    fn the_page_and_style_are_served_without_their_comments_and_nothing_else_is_lost() {
        let source_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets");
        for (path, open, close) in [("style.css", "/*", "*/"), ("index.html", "<!--", "-->")] {
            let served = String::from_utf8(Assets::get(path).expect(path).data.into_owned()).expect("UTF-8");
            let source = std::fs::read_to_string(source_dir.join(path)).expect(path);
            assert!(source.contains(open), "{path}: the source has comments (else this shows nothing)");
            assert!(!served.contains(open), "{path}: a comment is served");
            let mut cut = String::new();
            let mut rest = source.as_str();
            while let Some(start) = rest.find(open) {
                cut.push_str(&rest[..start]);
                let end = rest[start..].find(close).expect("closed") + start + close.len();
                rest = &rest[end..];
            }
            cut.push_str(rest);
            // Word by word, so two words run together would show.
            let words = |text: &str| text.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
            assert_eq!(words(&served), words(&cut), "{path}: served is the source less its comments");
        }
    }
}
