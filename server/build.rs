//! Builds the browser client (`client/web`) to wasm32 and runs wasm-bindgen on it, leaving
//! `$OUT_DIR/pkg/{skirmish_web.js, skirmish_web_bg.wasm}` (and gzipped copies in `pkg-gzip/`)
//! for `src/assets.rs` to embed, so the server binary alone serves the whole game. The nested
//! build always uses one release target dir (`<target>/wasm-client`), shared by debug, test and
//! clippy builds of the server.

use std::env;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, exit};

const CLIENT_CRATE: &str = "skirmish-web";
const WASM_TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    // `cfg(jemalloc)`: the `jemalloc` feature, on a target tikv-jemallocator supports. One name
    // for the condition `src/main.rs` and `src/idle_memory.rs` test in several places.
    println!("cargo::rustc-check-cfg=cfg(jemalloc)");
    if std::env::var_os("CARGO_FEATURE_JEMALLOC").is_some()
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() != Ok("msvc")
    {
        println!("cargo::rustc-cfg=jemalloc");
    }
    let manifest_dir = PathBuf::from(env_or_die("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env_or_die("OUT_DIR"));
    let Some(workspace) = manifest_dir.parent().map(Path::to_path_buf) else {
        die("the server crate has no parent directory (expected the workspace root)")
    };

    // Only client-side inputs rerun this script: server-only edits stay fast.
    for input in [
        "client/web/src",
        "client/web/Cargo.toml",
        "client/core/src",
        "client/core/Cargo.toml",
        "shared/src",
        "shared/Cargo.toml",
        "Cargo.toml",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(input).display());
    }
    println!("cargo:rerun-if-changed=build.rs");
    // rust-embed notices edits to embedded files but not files added to `assets/` or its
    // subfolders (`sounds/`, `maps/`): a rerun here rebuilds the server crate, which re-lists them.
    // A folder's own mtime changes when an entry is added or removed, so watch every folder.
    for dir in folders(&workspace.join("assets")) {
        println!("cargo:rerun-if-changed={}", dir.display());
    }
    // Their served copies (comments out) and gzipped copies are made here, so an edit to one
    // reruns this script too.
    let assets = workspace.join("assets");
    for file in files(&assets) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    copy_assets(&assets, &out_dir.join("assets"));
    gzip_tree(&out_dir.join("assets"), &out_dir.join("assets-gzip"));

    check_wasm_target();

    let target_dir = outer_target_dir(&out_dir, &workspace).join("wasm-client");
    build_client(&workspace, &target_dir);

    let wasm = target_dir.join(WASM_TARGET).join("release").join("skirmish_web.wasm");
    let pkg = out_dir.join("pkg");
    // A stale file from an earlier build must not be embedded (e.g. a snippet no longer used).
    if pkg.exists()
        && let Err(e) = std::fs::remove_dir_all(&pkg)
    {
        die(&format!("cannot clear {}: {e}", pkg.display()));
    }
    // `omit_default_module_path(false)` keeps `new URL('skirmish_web_bg.wasm', import.meta.url)`
    // in the glue, so the page can call `init()` with no argument (the library defaults to true,
    // unlike the CLI).
    let generated = wasm_bindgen_cli_support::Bindgen::new().input_path(&wasm).web(true).and_then(|b| {
        b.typescript(false)
            .omit_default_module_path(false)
            // Function names only help stack traces in devtools (panics are reported with
            // their message anyway) and cost a quarter of the download.
            .remove_name_section(true)
            .remove_producers_section(true)
            .generate_output()
    });
    let mut output = generated.unwrap_or_else(|e| die(&format!("wasm-bindgen failed on {}: {e:#}", wasm.display())));
    let renamed = shorter_import_names(output.wasm_mut().imports.iter_mut().map(|import| &mut import.name));
    if let Err(e) = output.emit(&pkg) {
        die(&format!("wasm-bindgen cannot write {}: {e:#}", pkg.display()));
    }
    let glue = pkg.join(format!("{CLIENT_CRATE}.js").replace('-', "_"));
    match std::fs::read_to_string(&glue) {
        Ok(js) => {
            if let Err(e) = std::fs::write(&glue, renamed_identifiers(&js, &renamed)) {
                die(&format!("cannot write {}: {e}", glue.display()));
            }
        }
        Err(e) => die(&format!("cannot read {}: {e}", glue.display())),
    }
    gzip_tree(&pkg, &out_dir.join("pkg-gzip"));
}

/// Gives the wasm's imports from the JS glue short names (`w0`, `w1`, … in hex; a name already
/// taken is skipped) and returns the old and new names. wasm-bindgen names each import for the
/// binding and a hash, `__wbg_activeElement_6c30fe7fda33ef51`: the 150-odd names, each in the
/// wasm and in the JS glue, came to about 4 KB of a page held to 100 KB gzipped, the hashes
/// (which gzip cannot shrink) most of it. The glue is then given the same names
/// ([`renamed_identifiers`]); its functions keep their bodies, so devtools still show the line.
fn shorter_import_names<'a>(names: impl Iterator<Item = &'a mut String>) -> std::collections::HashMap<String, String> {
    let mut names: Vec<&mut String> = names.collect();
    let mut taken: std::collections::HashSet<String> = names.iter().map(|n| n.to_string()).collect();
    let mut renamed = std::collections::HashMap::new();
    let mut next = 0;
    for name in &mut names {
        let Some((_, hash)) = name.rsplit_once('_') else { continue };
        if !name.starts_with("__wbg_") || hash.len() != 16 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let short =
            (next..).map(|n| format!("w{n:x}")).find(|candidate| !taken.contains(candidate)).expect("a name is free");
        next += 1;
        taken.insert(short.clone());
        renamed.insert(std::mem::replace(*name, short.clone()), short);
    }
    renamed
}

/// `js` with each identifier that is a key of `renamed` replaced by its value; only whole
/// identifiers (`__wbg__wbg_cb_unref_<hash>` holds another name whole, but is not it).
fn renamed_identifiers(js: &str, renamed: &std::collections::HashMap<String, String>) -> String {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '$';
    let mut out = String::with_capacity(js.len());
    let mut rest = js;
    while let Some(start) = rest.find(is_ident) {
        out.push_str(&rest[..start]);
        let word = &rest[start..];
        let end = word.find(|c: char| !is_ident(c)).unwrap_or(word.len());
        let word = &word[..end];
        out.push_str(renamed.get(word).map_or(word, String::as_str));
        rest = &rest[start + end..];
    }
    out.push_str(rest);
    out
}

/// Copies `from` into `to` for the binary to embed, leaving the comments out of the stylesheets
/// and pages: they are written for the source's readers, and every player would download them
/// (about 750 bytes of a page held to 100 KB gzipped). Everything else is copied as it is.
fn copy_assets(from: &Path, to: &Path) {
    map_tree(from, to, "copy", |relative, bytes| {
        let kept = match relative.extension().and_then(|e| e.to_str()) {
            Some("css") => without_comments(&bytes, b"/*", b"*/", true),
            Some("html") => without_comments(&bytes, b"<!--", b"-->", false),
            _ => bytes,
        };
        Ok(Some((relative.to_path_buf(), kept)))
    });
}

/// `text` without its comments (from `open` to the next `close`) and the blanks they leave: a
/// line that held only a comment goes, a comment that ends a line takes the spaces before it,
/// and one between two things on a line leaves a space (in CSS, `0/**/4px` is two values). In
/// CSS (`css`) an `open` inside a quoted string is text. In HTML only a comment opening a line is
/// taken out, the way the page writes them, so an attribute or a script holding `<!--` is never
/// cut. An unclosed comment is kept.
fn without_comments(text: &[u8], open: &[u8], close: &[u8], css: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let mut quote = None;
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        if let Some(q) = quote {
            out.push(c);
            // A backslash escapes the next byte, a quote included.
            if c == b'\\' && i + 1 < text.len() {
                out.push(text[i + 1]);
                i += 1;
            } else if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        let line_start = out.iter().rposition(|&b| b == b'\n').map_or(0, |k| k + 1);
        let only_blanks_before = out[line_start..].iter().all(|b| b.is_ascii_whitespace());
        if text[i..].starts_with(open) && (css || only_blanks_before) {
            let Some(len) = text[i + open.len()..].windows(close.len()).position(|w| w == close) else {
                out.extend_from_slice(&text[i..]);
                break;
            };
            i += open.len() + len + close.len();
            let rest = text[i..].iter().take_while(|&&b| b == b' ' || b == b'\t' || b == b'\r').count();
            if !matches!(text.get(i + rest), None | Some(b'\n')) {
                if out.last().is_some_and(|b| !b.is_ascii_whitespace()) {
                    out.push(b' ');
                }
                continue;
            }
            while out.last().is_some_and(|&b| b == b' ' || b == b'\t') {
                out.pop();
            }
            // The line's end goes too when the comment had the line to itself.
            i += rest + usize::from(only_blanks_before && i + rest < text.len());
            continue;
        }
        if css && (c == b'"' || c == b'\'') {
            quote = Some(c);
        }
        out.push(c);
        i += 1;
    }
    out
}

/// Writes `<path>.gz` for every file under `from` into the same place under `to`, at the best
/// compression level, where that is smaller. Done once here instead of per request: the
/// `Compress` middleware's fast gzip leaves the wasm about a quarter bigger, and compressing a
/// file on every download (brotli for a client that asks only for that) costs milliseconds of
/// CPU each time, which anyone could ask for in a loop.
fn gzip_tree(from: &Path, to: &Path) {
    map_tree(from, to, "gzip", |relative, input| {
        // Zopfli writes ordinary gzip about 6 % smaller than zlib's best level, once per
        // build (a couple of seconds), which keeps the page within its 100 KB.
        // The header carries no name or time: the output depends on the input only.
        let mut gz = Vec::new();
        zopfli::compress(zopfli::Options::default(), zopfli::Format::Gzip, &input[..], &mut gz)?;
        if gz.len() >= input.len() {
            return Ok(None);
        }
        let mut name = relative.as_os_str().to_owned();
        name.push(".gz");
        Ok(Some((PathBuf::from(name), gz)))
    });
}

/// Empties `to`, then writes into it what `make` turns each file under `from` into, given its
/// path relative to `from` and its bytes: the file to write (relative to `to`) and its bytes,
/// or nothing. Stops the build with one line (`cannot {doing} FROM into TO: why`) on an error.
fn map_tree(
    from: &Path,
    to: &Path,
    doing: &str,
    make: impl Fn(&Path, Vec<u8>) -> std::io::Result<Option<(PathBuf, Vec<u8>)>>,
) {
    let result = (|| -> std::io::Result<()> {
        if to.exists() {
            std::fs::remove_dir_all(to)?;
        }
        for path in files(from) {
            let Ok(relative) = path.strip_prefix(from) else { continue };
            let Some((name, bytes)) = make(relative, std::fs::read(&path)?)? else { continue };
            let out = to.join(name);
            if let Some(dir) = out.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(out, bytes)?;
        }
        std::fs::create_dir_all(to)
    })();
    if let Err(e) = result {
        die(&format!("cannot {doing} {} into {}: {e}", from.display(), to.display()));
    }
}

/// Runs `cargo build` for the client crate on wasm32 in its own target dir (the outer one is
/// locked by the build running this script; sharing it would deadlock).
fn build_client(workspace: &Path, target_dir: &Path) {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "-p", CLIENT_CRATE, "--lib", "--release", "--locked", "--target", WASM_TARGET])
        .arg("--target-dir")
        .arg(target_dir)
        // Replaces the one cargo sets for every build script (the host's flags) and any
        // `RUSTFLAGS` of the host's (a `-C target-cpu=native` has no place in a wasm build).
        .env("CARGO_ENCODED_RUSTFLAGS", wasm_rustflags())
        // Set under clippy: clippy would lint the nested build and fail the server's build.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        .env_remove("RUSTC_WRAPPER")
        // Every player downloads the result: optimise the whole wasm build (dependencies
        // included) for size, across crates. Set here, not in `[profile.release]`, so the
        // server's own release build keeps its settings. (wasm32 panics abort already.)
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1");
    match cmd.status() {
        Ok(status) if status.success() => {}
        Ok(status) => die(&format!("building the browser client ({CLIENT_CRATE}, {WASM_TARGET}) failed: {status}")),
        Err(e) => die(&format!("cannot run cargo to build the browser client: {e}")),
    }
}

/// The nested build's flags: each registry's source folder (`$CARGO_HOME/registry/src/<index>`)
/// remapped to nothing, so the panic locations compiled into the wasm read
/// `rmp-0.8.15/src/decode/str.rs` instead of where this machine keeps cargo's downloads. The page
/// is then the same bytes wherever it is built (it is held to 100 KB gzipped with little to
/// spare, and a longer `CARGO_HOME` would add to it) and tells nobody the builder's home folder.
/// Arguments are separated by 0x1f, as `CARGO_ENCODED_RUSTFLAGS` wants.
fn wasm_rustflags() -> String {
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")));
    let mut registries: Vec<PathBuf> = home
        .and_then(|home| std::fs::read_dir(home.join("registry").join("src")).ok())
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    // In a fixed order: the flags are part of the nested build's fingerprint.
    registries.sort();
    let flags: Vec<String> = registries.iter().map(|dir| format!("--remap-path-prefix={}=", dir.display())).collect();
    flags.join("\x1f")
}

/// Exits with one clear line when the wasm32 standard library is not installed, instead of the
/// wall of "can't find crate for `core`" errors the nested build would print.
fn check_wasm_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    let sysroot = match Command::new(&rustc).args(["--print", "sysroot"]).output() {
        Ok(out) if out.status.success() => PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()),
        // Without a sysroot answer, let the nested build report whatever is wrong.
        _ => return,
    };
    if !sysroot.join("lib").join("rustlib").join(WASM_TARGET).exists() {
        eprintln!(
            "error: the wasm32-unknown-unknown target is missing; run `rustup target add wasm32-unknown-unknown`"
        );
        exit(1);
    }
}

/// The outer build's target dir: `CARGO_TARGET_DIR` when set, else the nearest ancestor of
/// `OUT_DIR` that cargo tagged with `CACHEDIR.TAG`, else the parent of the profile dir holding
/// `build/` (`<target>/[<triple>/]<profile>/build/<pkg>-<hash>/out`).
fn outer_target_dir(out_dir: &Path, workspace: &Path) -> PathBuf {
    if let Some(dir) = env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        return workspace.join(dir); // `join` keeps an absolute path as is
    }
    if let Some(dir) = out_dir.ancestors().find(|d| d.join("CACHEDIR.TAG").is_file()) {
        return dir.to_path_buf();
    }
    out_dir
        .ancestors()
        .find(|d| d.file_name().is_some_and(|n| n == "build"))
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map_or_else(|| workspace.join("target"), Path::to_path_buf)
}

/// `root` and every folder below it.
fn folders(root: &Path) -> Vec<PathBuf> {
    let mut found = vec![root.to_path_buf()];
    let mut i = 0;
    while let Some(dir) = found.get(i).cloned() {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            found.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_dir()));
        }
        i += 1;
    }
    found
}

/// Every file under `root`, at any depth.
fn files(root: &Path) -> Vec<PathBuf> {
    folders(root)
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()).filter(|p| p.is_file()))
        .collect()
}

fn env_or_die(name: &str) -> OsString {
    env::var_os(name).unwrap_or_else(|| die(&format!("{name} is not set (build scripts always get it from cargo)")))
}

fn die(msg: &str) -> ! {
    eprintln!("error: {msg}");
    exit(1)
}
