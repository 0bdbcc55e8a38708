//! `--config FILE` on the real binary, through `--print-config`: flags beat the environment,
//! which beats the file, which beats the defaults; environment variables that are not ours are
//! ignored; a missing file and an unknown key stop the server with a clear message.

use std::process::{Command, Output};

fn skirmish(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_skirmish"));
    command.args(args).env("RUST_LOG", "off");
    // The runner's own SKIRMISH_* settings must not leak into what is tested.
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SKIRMISH_") || k == "PORT") {
        command.env_remove(key);
    }
    command.envs(env.iter().copied()).output().expect("the binary runs")
}

fn file(name: &str, text: &str) -> String {
    let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("skirmish-config-{}-{name}.toml", std::process::id()));
    std::fs::write(&path, text).expect("write the config file");
    path.to_string_lossy().into_owned()
}

#[test]
fn flags_beat_environment_beats_file_beats_defaults() {
    let path =
        file("precedence", "score-limit = 9\ncountdown = \"2s\"\nmin-players = 3\nrotation = [\"maze\", \"arena\"]\n");
    let out = skirmish(
        &["--config", &path, "--min-players", "4", "--print-config"],
        &[("SKIRMISH_COUNTDOWN", "7s"), ("SKIRMISH_MIN_PLAYERS", "5"), ("SKIRMISH_NOT_AN_OPTION", "x")],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("\nscore-limit = 9\n"), "the file beats the default:\n{text}");
    assert!(text.contains("\ncountdown = \"7s\"\n"), "the environment beats the file:\n{text}");
    assert!(text.contains("\nmin-players = 4\n"), "a flag beats both:\n{text}");
    assert!(text.contains("\nmatch-duration = \"5m\"\n"), "a default where nobody set one:\n{text}");
    assert!(text.contains("\nrotation = [\"maze\", \"arena\"]\n"), "the map rotation:\n{text}");
}

#[test]
fn a_missing_file_and_an_unknown_key_stop_the_server_with_their_names() {
    let out = skirmish(&["--config", "/nonexistent/skirmish.toml"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot read the config file /nonexistent/skirmish.toml"), "{err}");

    let path = file("unknown", "port = 0\nmax-player = 5\n");
    let out = skirmish(&["--config", &path], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{path}:2: unknown key `max-player`")), "{err}");
}

#[test]
fn switches_from_the_environment_take_the_usual_words() {
    for (value, on) in [("1", true), ("yes", true), ("on", true), ("true", true), ("0", false), ("off", false)] {
        let out = skirmish(&["--print-config"], &[("SKIRMISH_NO_QR", value)]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "SKIRMISH_NO_QR={value}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(text.contains(&format!("\nno-qr = {on}\n")), "SKIRMISH_NO_QR={value}:\n{text}");
    }
}

/// The banner's admin line for a server started with `args` and `env`.
fn admin_line(args: &[&str], env: &[(&str, &str)]) -> String {
    use std::io::{BufRead as _, BufReader};
    let mut command = Command::new(env!("CARGO_BIN_EXE_skirmish"));
    command.args(["--bind", "127.0.0.1", "--port", "0", "--no-qr"]).args(args).env("RUST_LOG", "off");
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("SKIRMISH_")) {
        command.env_remove(key);
    }
    let mut child = command
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
    let mut out = String::new();
    while !out.contains("Admin:") {
        let read = stdout.read_line(&mut out).expect("utf-8 stdout");
        assert!(read > 0, "stdout ended before the banner:\n{out}");
    }
    child.kill().expect("stop the server");
    child.wait().expect("the server exits");
    out.lines().find(|l| l.contains("Admin:")).expect("the admin line").to_owned()
}

/// `SKIRMISH_ADMIN_TOKEN=` (empty, as a compose file's blank setting gives) is no token: the
/// banner prints the one made for this run, which the admin page takes.
#[test]
fn an_empty_admin_token_gets_one_made_and_printed() {
    for blank in ["", "   "] {
        let admin = admin_line(&[], &[("SKIRMISH_ADMIN_TOKEN", blank)]);
        let token = admin.split("token for this run: ").nth(1).and_then(|t| t.strip_suffix(')'));
        assert!(token.is_some_and(|t| t.len() == 32), "{blank:?}: a made token, printed: {admin}");
        // And `--print-config` shows none set, as the server takes it.
        let out = skirmish(&["--print-config"], &[("SKIRMISH_ADMIN_TOKEN", blank)]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("\n# admin-token =\n"), "{blank:?}: none in force:\n{text}");
    }
}

/// The banner says where the token it did not make came from: a host told to keep it out of
/// `ps` can see that it is.
#[test]
fn the_banner_names_where_the_admin_token_came_from() {
    let admin = admin_line(&[], &[("SKIRMISH_ADMIN_TOKEN", "from-the-environment")]);
    assert!(admin.ends_with("(token from SKIRMISH_ADMIN_TOKEN)"), "{admin}");
    let path = file("token", "no-qr = true\nadmin-token = \"from-the-file\"\n");
    let admin = admin_line(&["--config", &path], &[]);
    assert!(admin.ends_with(&format!("(token from {path}:2: `admin-token`)")), "{admin}");
    let admin = admin_line(&["--admin-token", "from-the-flag"], &[]);
    assert!(admin.ends_with("(token from --admin-token)"), "{admin}");
}

/// Values checked only at start (whether a map exists, a directory, latency and jitter
/// together) are reported with the place they were set: the file's line and key, the variable
/// or the flag.
#[test]
fn values_checked_at_start_name_where_they_were_set() {
    let start = |args: &[&str], env: &[(&str, &str)]| {
        let out = skirmish(&[&["--bind", "127.0.0.1", "--port", "0", "--no-qr"], args].concat(), env);
        assert!(!out.status.success(), "{args:?} {env:?} started");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let path = file("nomap", "countdown = \"3s\"\nmap = \"nosuch\"\n");
    let err = start(&["--config", &path], &[]);
    assert!(err.contains(&format!("set by {path}:2: `map`")) && err.contains("no map named \"nosuch\""), "{err}");
    let err = start(&["--rotation", "arena,atlantis"], &[]);
    assert!(err.contains("set by --rotation") && err.contains("no map named \"atlantis\""), "{err}");
    let err = start(&[], &[("SKIRMISH_SIM_LATENCY", "800ms")]);
    assert!(err.contains("(set by SKIRMISH_SIM_LATENCY)"), "{err}");
    let err = start(&["--assets", "/nonexistent/assets"], &[]);
    assert!(err.contains("--assets: /nonexistent/assets: not a directory"), "{err}");
}

/// A map name that cannot be one (empty, as a blank variable gives, or with other characters)
/// is refused by its option before anything starts; spaces around the rotation's commas are
/// no part of the names.
#[test]
fn map_names_are_checked_with_their_option_and_the_rotation_trimmed() {
    for (key, value) in [("SKIRMISH_MAP", ""), ("SKIRMISH_ROTATION", ""), ("SKIRMISH_MAP", "../arena")] {
        let out = skirmish(&["--print-config"], &[(key, value)]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{key}={value:?} was taken");
        let option = if key == "SKIRMISH_MAP" { "'--map <MAP>'" } else { "'--rotation <MAPS>'" };
        assert!(err.contains(option) && err.contains("map name"), "{key}={value:?}: {err}");
    }
    let out = skirmish(&["--rotation", "arena, maze ,expanse", "--print-config"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\nrotation = [\"arena\", \"maze\", \"expanse\"]\n"), "{text}");
    let out = skirmish(&["--trusted-proxy", "10.0.0.0/8, 192.168.1.1", "--print-config"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\ntrusted-proxy = [\"10.0.0.0/8\", \"192.168.1.1\"]\n"), "{text}");
}

/// `AGONES_SDK_HTTP_PORT`, which Agones sets in its pods, implies `--agones`, and
/// `--print-config` says so.
#[test]
fn the_agones_port_implies_agones_in_the_printed_configuration() {
    let out = skirmish(&["--print-config"], &[("AGONES_SDK_HTTP_PORT", "9999")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\nagones = true\n") && text.contains("\nagones-sdk-port = 9999\n"), "{text}");
    let out = skirmish(&["--print-config"], &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("\nagones = false\n"));
}
