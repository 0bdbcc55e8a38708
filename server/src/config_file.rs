//! `--config FILE`: an optional TOML file for every option, the match rules and the map rotation
//! included. Keys are the long option names (`max-players-per-room` or `max_players_per_room`),
//! flat, with TOML values: strings, numbers, booleans for switches, arrays for lists.
//!
//! Precedence is flags > environment > file > built-in defaults. The file's values are handed to
//! clap as flags placed *before* the real command line, and only for options that neither the
//! command line nor the environment set (clap reports where each value came from), so clap
//! parses, checks and defaults every value in one place and its defaults never mask the file.

use std::ffi::OsString;
use std::path::Path;

use clap::parser::ValueSource;
use clap::{ArgAction, CommandFactory as _, FromArgMatches as _};

use crate::config::{Config, Origins};

/// Options that make no sense in the file itself.
const NOT_IN_FILE: &[&str] = &["config", "print-config", "help", "version"];

/// Why the configuration could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// Bad flags or values (clap's own message; `--help` and `--version` arrive here too).
    Args(clap::Error),
    /// The file is missing, unreadable, not TOML, or names an unknown key.
    File(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Args(e) => write!(f, "{e}"),
            LoadError::File(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for LoadError {}

/// The configuration from `args` (the program name first), the environment and the file that
/// `--config` (or `SKIRMISH_CONFIG`) names.
pub fn load<I, T>(args: I) -> Result<Config, LoadError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let effective = effective_matches(args)?;
    let mut config = Config::from_arg_matches(&effective.matches).map_err(LoadError::Args)?;
    config.origins = effective.origins();
    Ok(config)
}

/// What clap made of the command line with the file's flags before it.
struct Effective {
    /// Every value in force.
    matches: clap::ArgMatches,
    /// The `--config` file's path, text and keys, when there is one.
    file: Option<(std::path::PathBuf, String, FileKeys)>,
}

impl Effective {
    /// Where each option that is not at its default was set.
    fn origins(&self) -> Origins {
        let mut origins = Origins::default();
        for arg in Config::command().get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            let label = match self.matches.value_source(arg.get_id().as_str()) {
                Some(ValueSource::EnvVariable) => arg.get_env().map(|env| env.to_string_lossy().into_owned()),
                // The file's values are flags too, placed before the command line's.
                Some(ValueSource::CommandLine) => Some(match self.file_setting(long) {
                    Some((path, text, key)) => format!("{}:{}: `{key}`", path.display(), line_of(text, key)),
                    None => format!("--{long}"),
                }),
                _ => None,
            };
            if let Some(label) = label {
                origins.set(long, label);
            }
        }
        origins
    }

    /// The file, its text and the key as written, when the file set `long`.
    fn file_setting(&self, long: &str) -> Option<(&Path, &str, &str)> {
        let (path, text, keys) = self.file.as_ref()?;
        let (_, key) = keys.iter().find(|(l, _)| l == long)?;
        Some((path, text, key))
    }
}

/// What clap makes of `args` with the `--config` file's flags placed before them (or of `args`
/// alone without a file): every value in force, and where it came from.
fn effective_matches<I, T>(args: I) -> Result<Effective, LoadError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let command = Config::command();
    let matches = command.clone().try_get_matches_from(&args).map_err(LoadError::Args)?;
    let Some(path) = matches.get_one::<std::path::PathBuf>("config") else {
        return Ok(Effective { matches, file: None });
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::File(format!("cannot read the config file {}: {e}", path.display())))?;
    let mut all: Vec<OsString> = args.first().cloned().into_iter().collect();
    let (flags, from_file) = file_flags(&command, &matches, path, &text)?;
    all.extend(flags);
    all.extend(args.into_iter().skip(1));
    let matches = command.try_get_matches_from(all).map_err(|e| match bad_file_value(&e, &from_file) {
        // A value only the file gave: say where it is, not which flag it stood for.
        Some(key) => {
            let why = e.to_string();
            let why = why.lines().next().unwrap_or_default().trim_start_matches("error: ");
            LoadError::File(format!("{}:{}: `{key}`: {why}", path.display(), line_of(&text, key)))
        }
        None => LoadError::Args(e),
    })?;
    Ok(Effective { matches, file: Some((path.clone(), text, from_file)) })
}

/// The file's key whose value clap refused in `error`, if the value came from the file.
fn bad_file_value<'k>(error: &clap::Error, from_file: &'k [(String, String)]) -> Option<&'k str> {
    let clap::error::ContextValue::String(arg) = error.get(clap::error::ContextKind::InvalidArg)? else { return None };
    let long = arg.strip_prefix("--")?.split([' ', '=']).next()?;
    from_file.iter().find(|(l, _)| l == long).map(|(_, key)| key.as_str())
}

/// The file's keys that flags stand for: the long option, and the key as written.
type FileKeys = Vec<(String, String)>;

/// The keys whose values are paths, taken relative to the file's own directory.
const PATH_KEYS: [&str; 2] = ["maps", "assets"];

/// The flags that stand for the file's keys that nothing stronger set, and those keys.
fn file_flags(
    command: &clap::Command,
    matches: &clap::ArgMatches,
    path: &Path,
    text: &str,
) -> Result<(Vec<OsString>, FileKeys), LoadError> {
    // The position and the message, not the TOML library's full report: that quotes the line,
    // and a line like `admin-token = "secret` (no closing quote) would print the token into
    // the logs (found by an outside test of a LAN host).
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        let at = e.span().map_or(0, |span| span.start).min(text.len());
        let line = text.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        LoadError::File(format!("{}:{line}: {}", path.display(), e.message()))
    })?;
    let mut flags = Vec::new();
    let mut keys = Vec::new();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()) && !NOT_IN_FILE.contains(&long.as_str()))
            .ok_or_else(|| {
                LoadError::File(format!(
                    "{}:{}: unknown key `{key}` (the keys are the long options of `skirmish --help`)",
                    path.display(),
                    line_of(text, key)
                ))
            })?;
        let stronger = matches!(
            matches.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        if stronger {
            continue;
        }
        let bad =
            |what: &str| LoadError::File(format!("{}:{}: `{key}` must be {what}", path.display(), line_of(text, key)));
        let flag = OsString::from(format!("--{long}"));
        keys.push((long.clone(), key.clone()));
        match (arg.get_action(), value) {
            (ArgAction::SetTrue, toml::Value::Boolean(on)) => {
                if *on {
                    flags.push(flag);
                }
            }
            (ArgAction::SetTrue, _) => return Err(bad("true or false")),
            // `--key=value`, one argument: a value starting with `-` (a token, a negative
            // number) must not read as a flag of its own.
            // A list only for an option that takes one (`admin-token = ["x"]` was taken as "x").
            (ArgAction::Append, toml::Value::Array(items)) => {
                for item in items {
                    let item = scalar(item).ok_or_else(|| bad("a list of strings or numbers"))?;
                    flags.push(format!("--{long}={item}").into());
                }
            }
            // A relative path in the file is the file's: the same file works from any working
            // directory (a service's is `/`; an outside test's `maps = "maps"` failed there).
            (_, toml::Value::String(dir)) if PATH_KEYS.contains(&long.as_str()) && Path::new(dir).is_relative() => {
                let dir = path.parent().unwrap_or(Path::new("")).join(dir);
                let mut flag = OsString::from(format!("--{long}="));
                flag.push(dir.as_os_str());
                flags.push(flag);
            }
            (_, value) => {
                let value = scalar(value).ok_or_else(|| bad("a string or a number"))?;
                flags.push(format!("--{long}={value}").into());
            }
        }
    }
    Ok((flags, keys))
}

/// A TOML scalar as the text a flag would carry.
fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(n) => Some(n.to_string()),
        toml::Value::Float(x) => Some(x.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Datetime(_) | toml::Value::Array(_) | toml::Value::Table(_) => None,
    }
}

/// The 1-based line where `key` is set (the first line that starts with it), for messages.
fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix('"').unwrap_or(line);
            line.starts_with(key) && line[key.len()..].trim_start().starts_with(['=', '"'])
        })
        .map_or(1, |i| i + 1)
}

/// The effective configuration as a TOML file `--config` reads back: every option (the file's
/// keys), with the values in force after flags, environment, file and defaults. Options not set
/// at all are shown commented out. Secrets (the admin token) are redacted.
pub fn to_toml<I, T>(args: I) -> Result<String, LoadError>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let command = Config::command();
    let effective = effective_matches(args)?.matches;
    let mut out = String::from("# skirmish --print-config: the configuration in force\n");
    for arg in command.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if NOT_IN_FILE.contains(&long) {
            continue;
        }
        let id = arg.get_id().as_str();
        if arg.get_action().takes_values() {
            let mut values: Vec<String> = effective
                .get_raw(id)
                .map(|raw| raw.map(|v| v.to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            if arg.get_value_delimiter().is_some() {
                // As the options read them: `a, b` is `a` and `b`.
                values.iter_mut().for_each(|v| *v = v.trim().to_owned());
            }
            // A blank admin token is none: the server makes one for the run.
            if SECRETS.contains(&long) && values.iter().all(|v| crate::admin::configured(Some(v)).is_none()) {
                values.clear();
            }
            if SECRETS.contains(&long) && !values.is_empty() {
                // A comment, so this output used as the config leaves the secret unset rather
                // than set to a placeholder anyone could type.
                out +=
                    &format!("# {long} = (set, not shown: give it with --{long}, its environment variable or here)\n");
            } else if values.is_empty() {
                out += &format!("# {long} =\n");
            } else if matches!(arg.get_action(), ArgAction::Append) || arg.get_value_delimiter().is_some() {
                let items: Vec<String> = values.iter().map(|v| toml_value(v)).collect();
                out += &format!("{long} = [{}]\n", items.join(", "));
            } else {
                out += &format!("{long} = {}\n", toml_value(&values[0]));
            }
        } else if matches!(arg.get_action(), ArgAction::SetTrue) {
            // `agones-sdk-port` (`AGONES_SDK_HTTP_PORT`, as Agones sets it) implies `agones`.
            let implied = long == "agones" && effective.get_raw("agones_sdk_port").is_some();
            out += &format!("{long} = {}\n", effective.get_flag(id) || implied);
        }
    }
    Ok(out)
}

/// Options whose values `--print-config` never shows.
const SECRETS: &[&str] = &["admin-token"];

/// A value as TOML: numbers bare, everything else a quoted string.
fn toml_value(raw: &str) -> String {
    if raw.parse::<i64>().is_ok() { raw.to_owned() } else { toml::Value::String(raw.to_owned()).to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("skirmish-config-{}-{name}.toml", std::process::id()));
        std::fs::write(&path, text).expect("write the file");
        path
    }

    #[test]
    fn the_file_sets_what_flags_leave_unset_and_flags_win() {
        let path = write(
            "precedence",
            "port = 9000\nscore_limit = 7\nmatch-duration = \"90s\"\nno-qr = true\n\
             allowed-origins = [\"https://a.example\", \"https://b.example\"]\n",
        );
        let path_arg = path.to_str().unwrap();
        let config = load(["skirmish", "--config", path_arg, "--port", "9100"]).expect("loads");
        assert_eq!(config.port, 9100, "a flag beats the file");
        assert_eq!(config.score_limit, 7, "the file beats the default");
        assert_eq!(config.match_duration, std::time::Duration::from_secs(90));
        assert!(config.no_qr);
        assert_eq!(config.allowed_origins.len(), 2);
        assert_eq!(config.countdown, std::time::Duration::from_secs(5), "a default where nobody set one");
    }

    #[test]
    fn an_unknown_key_names_the_file_the_line_and_the_key() {
        let path = write("unknown", "port = 9000\n\n# the rules\nscore-limitt = 3\n");
        let err = load(["skirmish", "--config", path.to_str().unwrap()]).unwrap_err().to_string();
        assert!(err.contains(&format!("{}:4: unknown key `score-limitt`", path.display())), "{err}");
    }

    #[test]
    fn a_broken_line_is_placed_but_not_quoted_and_a_list_goes_only_where_one_may() {
        // The TOML library's own report quotes the line: the token of a broken `admin-token`
        // line went to the logs.
        let path = write("broken", "port = 9000\nadmin-token = \"topsecret-abc\n");
        let err = load(["skirmish", "--config", path.to_str().unwrap()]).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:2: ", path.display())), "{err}");
        assert!(!err.contains("topsecret"), "{err}");
        let path = write("listed", "admin-token = [\"x\"]\n");
        let err = load(["skirmish", "--config", path.to_str().unwrap()]).unwrap_err().to_string();
        assert!(err.contains(":1: `admin-token` must be a string or a number"), "{err}");
    }

    #[test]
    fn relative_paths_in_the_file_are_the_files() {
        let path = write("paths", "maps = \"my-maps\"\nassets = \"/srv/skirmish/assets\"\n");
        let config = load(["skirmish", "--config", path.to_str().unwrap()]).expect("loads");
        assert_eq!(config.maps, Some(path.parent().unwrap().join("my-maps")), "beside the file");
        assert_eq!(config.assets, Some(std::path::PathBuf::from("/srv/skirmish/assets")), "absolute as it is");
        // A flag's relative path is the working directory's, as with any command.
        let config = load(["skirmish", "--config", path.to_str().unwrap(), "--maps", "here"]).expect("loads");
        assert_eq!(config.maps, Some(std::path::PathBuf::from("here")));
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let err = load(["skirmish", "--config", "/nonexistent/skirmish.toml"]).unwrap_err().to_string();
        assert!(err.contains("cannot read the config file /nonexistent/skirmish.toml"), "{err}");
    }

    #[test]
    fn bad_values_get_clap_messages_and_wrong_kinds_are_named() {
        let path = write("bad", "port = \"eighty\"\n");
        let err = load(["skirmish", "--config", path.to_str().unwrap()]).unwrap_err().to_string();
        assert!(err.contains("eighty"), "{err}");
        let path = write("kind", "no-qr = \"yes\"\n");
        let err = load(["skirmish", "--config", path.to_str().unwrap()]).unwrap_err().to_string();
        assert!(err.contains(":1: `no-qr` must be true or false"), "{err}");
    }

    #[test]
    fn print_config_redacts_the_admin_token_and_its_output_sets_none() {
        let text = to_toml(["skirmish", "--admin-token", "hunter2-secret"]).expect("prints");
        assert!(text.contains("\n# admin-token = (set, not shown"), "{text}");
        assert!(!text.contains("hunter2-secret"), "{text}");
        let again = write("secret", &text);
        let config = load(["skirmish", "--config", again.to_str().unwrap()]).expect("its output loads");
        assert_eq!(config.admin_token, None, "no token from the printed file, so a fresh one is made");
    }

    #[test]
    fn values_starting_with_a_dash_are_values() {
        let path = write("dash", "admin-token = \"-abc123\"\nroom-nice = -5\npublic-url = \"\"\n");
        let config = load(["skirmish", "--config", path.to_str().unwrap()]).expect("loads");
        assert_eq!((config.admin_token.as_deref(), config.room_nice), (Some("-abc123"), -5));
        let path = write("negative", "port = 0\nseed = -3\n");
        let err = load(["skirmish", "--config", path.to_str().unwrap()]).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:2: `seed`: invalid value '-3'", path.display())), "{err}");
    }

    #[test]
    fn a_bad_value_in_the_file_names_the_file_the_line_and_the_key() {
        let path = write(
            "badvalue",
            "port = 0

match-duration = \"soon\"\n",
        );
        let err = load(["skirmish", "--config", path.to_str().unwrap()]).unwrap_err().to_string();
        assert!(err.starts_with(&format!("{}:3: `match-duration`: invalid value 'soon'", path.display())), "{err}");
        // The same value from a flag is the flag's error, as clap words it.
        let err = load(["skirmish", "--config", path.to_str().unwrap(), "--port", "x"]).unwrap_err().to_string();
        assert!(err.contains("'--port <PORT>'"), "{err}");
    }

    #[test]
    fn print_config_reads_back_to_the_same_configuration() {
        let path = write("print", "score-limit = 9\ntrusted-proxy = [\"10.0.0.0/8\"]\n");
        let text = to_toml(["skirmish", "--config", path.to_str().unwrap(), "--port", "7000"]).expect("prints");
        assert!(text.contains("\nport = 7000\n") && text.contains("\nscore-limit = 9\n"), "{text}");
        assert!(text.contains("\ntrusted-proxy = [\"10.0.0.0/8\"]\n"), "{text}");
        let again = write("again", &text);
        let config = load(["skirmish", "--config", again.to_str().unwrap()]).expect("its output loads");
        assert_eq!((config.port, config.score_limit), (7000, 9));
        assert_eq!(config.trusted_proxies.len(), 1);
    }
}
