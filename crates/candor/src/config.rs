//! The configuration file and the `CANDOR_*` environment variables.
//!
//! Every key is a long flag of `candor serve`, written as the flag is
//! without its dashes (`rrl-rate = 100` is `--rrl-rate 100`), and its
//! environment variable is `CANDOR_` and the key in capitals with `_` for
//! `-` (`CANDOR_RRL_RATE=100`). The clap definition is the schema: there is
//! no second list of settings to drift from the flags. A value from the
//! file or the environment becomes the flag's default before the command
//! line is parsed, so the precedence is flags, then the environment, then
//! the file, then the built-in defaults, and a value is checked by the
//! flag's own parser (with the file's line or the variable's name in the
//! error). Every command gets the settings it shares with `serve` (the
//! data directory, name servers, hostmaster, ...): a flag of another
//! command is the same setting when its long name and help are those of
//! `serve`'s flag.
//!
//! The file is `--config FILE`, else `CANDOR_CONFIG`, else
//! [`DEFAULT_PATH`] when it exists; without one, flags, environment and
//! defaults apply as before.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Arg, ArgAction, Command};
use toml::Spanned;

/// The configuration file read when neither `--config` nor `CANDOR_CONFIG`
/// names one, if it exists.
pub(crate) const DEFAULT_PATH: &str = "/etc/candor/candor.toml";

/// Keys whose values are secrets: `config check` shows `<redacted>`.
const SECRET_KEYS: [&str; 1] = ["smtp-password"];

/// Flags of `serve` that are not settings.
const NOT_KEYS: [&str; 3] = ["help", "version", "config"];

/// A secret setting: its `Debug` form shows no value.
#[derive(Clone)]
pub(crate) struct Secret(
    /// The value.
    pub(crate) String,
);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Secret, Self::Err> {
        Ok(Secret(text.to_owned()))
    }
}

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// A line of the configuration file.
    File {
        /// The file.
        path: PathBuf,
        /// The line of its key (1-based).
        line: usize,
    },
    /// An environment variable.
    Env(String),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File { path, line } => write!(f, "{}:{line}", path.display()),
            Source::Env(name) => write!(f, "{name}"),
        }
    }
}

/// One setting given by the file or the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Setting {
    /// Its values, as they would be written after the flag.
    pub(crate) values: Vec<String>,
    /// Where they came from.
    pub(crate) source: Source,
}

/// The settings the configuration file and the environment give.
#[derive(Debug, Default)]
pub(crate) struct Layer {
    /// The file read, if any.
    pub(crate) file: Option<PathBuf>,
    /// The settings by key.
    pub(crate) settings: BTreeMap<String, Setting>,
}

/// The environment variable of `key`.
pub(crate) fn env_name(key: &str) -> String {
    format!("CANDOR_{}", key.to_ascii_uppercase().replace('-', "_"))
}

/// The settings: `serve`'s flags by long name (in the order `--help` shows
/// them), from the whole command-line definition `cli`.
pub(crate) fn keys(cli: &Command) -> Vec<Arg> {
    cli.find_subcommand("serve")
        .map(|serve| {
            serve
                .get_arguments()
                // Hidden flags are test knobs, not settings.
                .filter(|a| !a.is_hide_set())
                .filter(|a| a.get_long().is_some_and(|l| !NOT_KEYS.contains(&l)))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// Whether `arg` is a flag without a value (`--no-demo`).
fn is_switch(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::SetTrue)
}

/// Whether `arg` may be repeated (`--listen A --listen B`).
fn is_list(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append)
}

/// The file `--config` (or `--config=`) names in `argv`, else
/// `CANDOR_CONFIG`, else [`DEFAULT_PATH`] if it exists. The second value
/// says whether the file was asked for (it must then exist).
fn config_path(argv: &[OsString]) -> Option<(PathBuf, bool)> {
    let mut args = argv.iter().skip(1);
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str() else { continue };
        if text == "--" {
            break;
        }
        if text == "--config" {
            return args.next().map(|p| (PathBuf::from(p), true));
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some((PathBuf::from(path), true));
        }
    }
    if let Some(path) = std::env::var_os("CANDOR_CONFIG").filter(|p| !p.is_empty()) {
        return Some((PathBuf::from(path), true));
    }
    let default = Path::new(DEFAULT_PATH);
    default.exists().then(|| (default.to_path_buf(), false))
}

/// Reads the configuration file `argv` asks for (see [`config_path`]) and
/// the `CANDOR_*` variables of `env`, and checks every value with its
/// flag's parser.
pub(crate) fn load(
    cli: &Command,
    argv: &[OsString],
    env: &dyn Fn(&str) -> Option<OsString>,
) -> anyhow::Result<Layer> {
    let keys = keys(cli);
    let mut layer = Layer::default();
    if let Some((path, _)) = config_path(argv) {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        layer.settings = parse_file(&keys, &path, &text)?;
        warn_if_secrets_are_readable(&path, &layer.settings);
        layer.file = Some(path);
    }
    for arg in &keys {
        let key = arg_key(arg);
        let name = env_name(key);
        let Some(value) = env(&name) else { continue };
        let Some(value) = value.to_str().map(str::trim) else {
            anyhow::bail!("{name}: not valid UTF-8");
        };
        if value.is_empty() {
            continue;
        }
        let values = if is_switch(arg) {
            vec![switch_value(value).with_context(|| name.clone())?]
        } else if is_list(arg) {
            value.split(',').map(|v| v.trim().to_owned()).collect()
        } else {
            vec![value.to_owned()]
        };
        let setting = Setting {
            values,
            source: Source::Env(name),
        };
        check(arg, &setting)?;
        layer.settings.insert(key.to_owned(), setting);
    }
    Ok(layer)
}

/// Warns (on stderr: logging is not set up yet) when the file holds a
/// secret and other users may read it.
fn warn_if_secrets_are_readable(path: &Path, settings: &BTreeMap<String, Setting>) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let Some(key) = SECRET_KEYS.iter().find(|k| settings.contains_key(**k)) else {
            return;
        };
        let mode = std::fs::metadata(path).map_or(0, |m| m.permissions().mode());
        if mode & 0o004 != 0 {
            eprintln!(
                "candor: warning: {} holds {key} and every user may read it: chmod o-r it",
                path.display()
            );
        }
    }
}

/// The key of one of [`keys`]' flags.
fn arg_key(arg: &Arg) -> &str {
    arg.get_long().unwrap_or_default()
}

/// `true` or `false` from an environment variable's text.
fn switch_value(text: &str) -> anyhow::Result<String> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok("true".to_owned()),
        "0" | "false" | "no" | "off" => Ok("false".to_owned()),
        _ => anyhow::bail!("{text:?} is not true or false (1, 0, yes, no, on, off)"),
    }
}

/// The 1-based line of byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses the configuration file `text` (read from `path`) into settings,
/// refusing unknown keys, values of the wrong shape and values the flag's
/// parser refuses, each with the file and line.
pub(crate) fn parse_file(
    keys: &[Arg],
    path: &Path,
    text: &str,
) -> anyhow::Result<BTreeMap<String, Setting>> {
    let table: BTreeMap<Spanned<String>, Spanned<toml::Value>> =
        toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| line_of(text, s.start));
            anyhow::anyhow!(
                "{}:{line}: not a valid TOML file: {}",
                path.display(),
                e.message()
            )
        })?;
    let by_key: HashMap<&str, &Arg> = keys.iter().map(|a| (arg_key(a), a)).collect();
    let mut settings = BTreeMap::new();
    for (key, value) in table {
        let line = line_of(text, key.span().start);
        let at = format!("{}:{line}", path.display());
        let name = key.get_ref().as_str();
        let Some(arg) = by_key.get(name) else {
            let hint = if by_key.contains_key(name.replace('_', "-").as_str()) {
                format!(
                    " (did you mean `{}`? keys are written as the flags are, with dashes)",
                    name.replace('_', "-")
                )
            } else {
                " (every key is a flag of `candor serve` without its dashes; \
                 `candor config example` lists them all)"
                    .to_owned()
            };
            anyhow::bail!("{at}: unknown key `{name}`{hint}");
        };
        let values =
            file_values(arg, value.get_ref()).map_err(|e| anyhow::anyhow!("{at}: {name}: {e}"))?;
        let setting = Setting {
            values,
            source: Source::File {
                path: path.to_path_buf(),
                line,
            },
        };
        check(arg, &setting)?;
        settings.insert(name.to_owned(), setting);
    }
    Ok(settings)
}

/// The values a TOML value gives flag `arg`, or why it cannot.
fn file_values(arg: &Arg, value: &toml::Value) -> Result<Vec<String>, String> {
    if is_switch(arg) {
        return match value {
            toml::Value::Boolean(b) => Ok(vec![b.to_string()]),
            other => Err(format!("expects true or false, not {}", other.type_str())),
        };
    }
    match value {
        toml::Value::Array(items) if is_list(arg) => items.iter().map(scalar).collect(),
        toml::Value::Array(_) => Err("takes one value, not a list".to_owned()),
        other => Ok(vec![scalar(other)?]),
    }
}

/// The text of a TOML scalar as it would follow the flag.
fn scalar(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        toml::Value::Datetime(d) => Ok(d.to_string()),
        toml::Value::Array(_) => Err("a list inside a list is not a value".to_owned()),
        toml::Value::Table(_) => {
            Err("tables are not used: write every key at the top level".to_owned())
        }
    }
}

/// Checks each value of `setting` with `arg`'s own parser (range, format,
/// possible values), as the command line would.
fn check(arg: &Arg, setting: &Setting) -> anyhow::Result<()> {
    if is_switch(arg) {
        return Ok(());
    }
    let key = arg_key(arg);
    let probe = Command::new("candor")
        .no_binary_name(true)
        .disable_help_flag(true)
        .color(clap::ColorChoice::Never)
        .arg(
            arg.clone()
                .default_values(Vec::<OsString>::new())
                .required(false),
        );
    for value in &setting.values {
        if let Err(e) = probe
            .clone()
            .try_get_matches_from([format!("--{key}={value}")])
        {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            let reason = first.strip_prefix("error: ").unwrap_or(first);
            anyhow::bail!("{}: {key}: {reason}", setting.source);
        }
    }
    Ok(())
}

impl Layer {
    /// `cli` with every setting as the default of its flags: `serve`'s and
    /// the same flag of every other command (same long name and help).
    pub(crate) fn apply(&self, cli: Command) -> Command {
        let helps: HashMap<String, String> = keys(&cli)
            .iter()
            .map(|a| (arg_key(a).to_owned(), help_of(a)))
            .collect();
        self.apply_to(cli, &helps)
    }

    /// [`Layer::apply`] for one command and its subcommands.
    fn apply_to(&self, cmd: Command, helps: &HashMap<String, String>) -> Command {
        cmd.mut_args(|arg| {
            let Some(long) = arg.get_long() else {
                return arg;
            };
            match self.settings.get(long) {
                Some(setting) if helps.get(long) == Some(&help_of(&arg)) => {
                    arg.default_values(setting.values.clone())
                }
                _ => arg,
            }
        })
        .mut_subcommands(|sub| self.apply_to(sub, helps))
    }
}

/// A flag's help text, which tells a shared setting from another flag of
/// the same name.
fn help_of(arg: &Arg) -> String {
    arg.get_help().map(ToString::to_string).unwrap_or_default()
}

/// The commands that take setting `key`, as `candor zone create`.
#[cfg(test)]
fn takers(cli: &Command, key: &str) -> Vec<String> {
    fn walk(cmd: &Command, path: &str, key: &str, help: &str, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands() {
            let path = format!("{path} {}", sub.get_name());
            if sub
                .get_arguments()
                .any(|a| a.get_long() == Some(key) && help_of(a) == help)
            {
                out.push(path.clone());
            }
            walk(sub, &path, key, help, out);
        }
    }
    let help = keys(cli)
        .iter()
        .find(|a| arg_key(a) == key)
        .map(help_of)
        .unwrap_or_default();
    let mut out = Vec::new();
    walk(cli, "candor", key, &help, &mut out);
    out
}

/// A value as TOML: a number or a boolean as itself, anything else as a
/// string.
fn toml_scalar(text: &str) -> String {
    let number = !text.is_empty()
        && text.parse::<f64>().is_ok_and(f64::is_finite)
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        && !text.starts_with('.')
        && !text.ends_with('.')
        && !(text.len() > 1 && text.starts_with('0') && !text.starts_with("0."));
    if number || text == "true" || text == "false" {
        text.to_owned()
    } else {
        toml::Value::String(text.to_owned()).to_string()
    }
}

/// `key = value` in TOML for `values` of flag `arg`.
fn toml_line(arg: &Arg, values: &[String]) -> String {
    let key = arg_key(arg);
    if is_list(arg) {
        let items: Vec<String> = values.iter().map(|v| toml_scalar(v)).collect();
        format!("{key} = [{}]", items.join(", "))
    } else {
        format!(
            "{key} = {}",
            toml_scalar(values.first().map_or("", String::as_str))
        )
    }
}

/// Wraps `text` into `# ` comment lines of at most 78 columns.
fn comment(text: &str, out: &mut String) {
    for paragraph in text.split("\n\n") {
        let mut line = String::from("#");
        for word in paragraph.split_whitespace() {
            if line.len() + 1 + word.len() > 78 && line.len() > 1 {
                let _ = writeln!(out, "{line}");
                line = String::from("#");
            }
            line.push(' ');
            line.push_str(word);
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The example configuration file: every key, with its flag's help, its
/// environment variable and its default, commented out.
/// `packaging/candor.toml` is this text.
pub(crate) fn example(cli: &Command) -> String {
    let mut out = String::new();
    comment(
        "Candor's configuration file (TOML). `candor serve` and every other \
         command read it: --config FILE, else $CANDOR_CONFIG, else \
         /etc/candor/candor.toml if it exists. Every key is a flag of \
         `candor serve` without its dashes (`rrl-rate = 100` is `--rrl-rate \
         100`); a flag that may be repeated takes a list. Each key's \
         environment variable (CANDOR_ and the key in capitals, `_` for `-`; \
         lists comma-separated) overrides the file, and a flag on the command \
         line overrides both. Unknown keys are errors. `candor config check` \
         shows what is in effect and where each value comes from.",
        &mut out,
    );
    comment(
        "Generated by `candor config example`; every line below shows the \
         default, commented out.",
        &mut out,
    );
    for arg in keys(cli) {
        let key = arg_key(&arg);
        out.push('\n');
        let help = arg
            .get_long_help()
            .or_else(|| arg.get_help())
            .map(ToString::to_string)
            .unwrap_or_default();
        let help = if help.ends_with('.') {
            help
        } else {
            format!("{help}.")
        };
        comment(&help, &mut out);
        let value_name = arg
            .get_value_names()
            .and_then(|n| n.first())
            .map(ToString::to_string);
        let flag = match &value_name {
            Some(v) if !is_switch(&arg) => format!("--{key} {v}"),
            _ => format!("--{key}"),
        };
        let mut env = env_name(key);
        if is_list(&arg) {
            env.push_str(" (comma-separated)");
        }
        comment(&format!("Flag {flag}; environment {env}."), &mut out);
        let defaults: Vec<String> = arg
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        if is_switch(&arg) {
            let _ = writeln!(out, "# {key} = false");
        } else if defaults.is_empty() && !is_list(&arg) {
            let placeholder = value_name.unwrap_or_else(|| "VALUE".to_owned());
            let _ = writeln!(out, "# {key} = \"{placeholder}\"   # not set by default");
        } else {
            let _ = writeln!(out, "# {}", toml_line(&arg, &defaults));
        }
    }
    out
}

/// `candor config check`: the effective settings of `serve` (file,
/// environment and defaults; secrets redacted), one `key = value` line
/// each with where it comes from, as a TOML file that could be read
/// back; and `serve`'s own checks of them.
pub(crate) fn effective(
    cli: &Command,
    layer: &Layer,
) -> anyhow::Result<(String, clap::ArgMatches)> {
    let serve = layer
        .apply(cli.clone())
        .find_subcommand("serve")
        .cloned()
        .context("no serve command")?;
    let matches = serve
        .no_binary_name(true)
        .try_get_matches_from(Vec::<String>::new())
        .map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
    let mut out = String::new();
    match &layer.file {
        Some(path) => {
            let _ = writeln!(
                out,
                "# The settings of `candor serve` with {} and the environment.",
                path.display()
            );
        }
        None => {
            let _ = writeln!(
                out,
                "# The settings of `candor serve`: no configuration file \
                 (--config, CANDOR_CONFIG, {DEFAULT_PATH}), environment and defaults."
            );
        }
    }
    for arg in keys(cli) {
        let key = arg_key(&arg);
        let values: Vec<String> = matches
            .get_raw(arg.get_id().as_str())
            .map(|v| v.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let source = layer
            .settings
            .get(key)
            .map_or_else(|| "default".to_owned(), |s| s.source.to_string());
        if values.is_empty() && !is_list(&arg) {
            let _ = writeln!(out, "# {key} is not set");
            continue;
        }
        let line = if SECRET_KEYS.contains(&key) {
            format!("{key} = \"<redacted>\"")
        } else {
            toml_line(&arg, &values)
        };
        let _ = writeln!(out, "{line}   # {source}");
    }
    Ok((out, matches))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole command-line definition.
    fn cli() -> Command {
        <crate::Cli as clap::CommandFactory>::command()
    }

    /// Parses `text` as a file named `candor.toml`.
    fn parse(text: &str) -> anyhow::Result<BTreeMap<String, Setting>> {
        parse_file(&keys(&cli()), Path::new("candor.toml"), text)
    }

    /// The error of a file that must be refused.
    fn refused(text: &str) -> String {
        match parse(text) {
            Ok(s) => panic!("accepted {text:?}: {s:?}"),
            Err(e) => format!("{e:#}"),
        }
    }

    /// Keys are serve's flags, values take the shape of the flag.
    #[test]
    fn keys_are_flags_and_values_take_their_shape() {
        let settings = parse(
            "# a comment\nrrl-rate = 100\nlisten = [\"127.0.0.1:5300\", \"[::1]:5300\"]\n\
             no-demo = true\ntcp-idle-timeout = 0.5\nnameserver = \"ns1.example.net\"\n",
        )
        .expect("parses");
        let values = |k: &str| settings[k].values.clone();
        assert_eq!(values("rrl-rate"), ["100"]);
        assert_eq!(values("listen"), ["127.0.0.1:5300", "[::1]:5300"]);
        assert_eq!(values("no-demo"), ["true"]);
        assert_eq!(values("tcp-idle-timeout"), ["0.5"]);
        assert_eq!(values("nameserver"), ["ns1.example.net"]);
        assert_eq!(
            settings["listen"].source,
            Source::File {
                path: PathBuf::from("candor.toml"),
                line: 3
            }
        );
    }

    /// Unknown keys, wrong shapes and values the flag refuses name the
    /// file, the line and the key.
    #[test]
    fn bad_files_name_file_line_and_key() {
        assert_eq!(
            refused("rrl-rate = 1\n\nrrl-rat = 2\n"),
            "candor.toml:3: unknown key `rrl-rat` (every key is a flag of `candor serve` \
             without its dashes; `candor config example` lists them all)"
        );
        assert_eq!(
            refused("rrl_rate = 2\n"),
            "candor.toml:1: unknown key `rrl_rate` (did you mean `rrl-rate`? keys are \
             written as the flags are, with dashes)"
        );
        assert_eq!(
            refused("\nrrl-rate = \"lots\"\n"),
            "candor.toml:2: rrl-rate: invalid value 'lots' for '--rrl-rate <N>': \
             invalid digit found in string"
        );
        assert_eq!(
            refused("rrl-rate = [1, 2]\n"),
            "candor.toml:1: rrl-rate: takes one value, not a list"
        );
        assert_eq!(
            refused("no-demo = \"yes\"\n"),
            "candor.toml:1: no-demo: expects true or false, not string"
        );
        assert!(
            refused("listen = [\"127.0.0.1:5300\", \"nowhere\"]\n").starts_with(
                "candor.toml:1: listen: invalid value 'nowhere' for '--listen <ADDR>'"
            )
        );
        assert!(refused("[rrl]\nrate = 1\n").starts_with("candor.toml:1: unknown key `rrl`"));
        assert!(
            refused("rrl-rate = 1\nrrl-rate = 2\n")
                .starts_with("candor.toml:2: not a valid TOML file")
        );
        assert!(
            refused("rrl-rate = 99999999999\n").contains("rrl-rate: invalid value '99999999999'")
        );
    }

    /// Flags beat the environment, which beats the file, which beats the
    /// defaults; CLI commands other than serve get the shared settings.
    #[test]
    fn flags_beat_environment_beat_file_beat_defaults() {
        let dir = std::env::temp_dir().join(format!("candor-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("candor.toml");
        std::fs::write(
            &file,
            "rrl-rate = 100\nrrl-slip = 3\nhostmaster = \"hostmaster.example.net\"\n\
             nameserver = [\"a.example.net\", \"b.example.net\"]\n",
        )
        .expect("write");
        let argv: Vec<OsString> = [
            "candor",
            "serve",
            "--config",
            file.to_str().expect("utf-8"),
            "--rrl-rate",
            "7",
        ]
        .map(OsString::from)
        .to_vec();
        let env = |name: &str| match name {
            "CANDOR_RRL_RATE" | "CANDOR_RRL_SLIP" => Some(OsString::from("5")),
            "CANDOR_NO_DEMO" => Some(OsString::from("yes")),
            _ => None,
        };
        let layer = load(&cli(), &argv, &env).expect("loads");
        let matches = layer.apply(cli()).get_matches_from(&argv);
        let serve = matches.subcommand_matches("serve").expect("serve");
        assert_eq!(serve.get_one::<u32>("rrl_rate"), Some(&7), "flag");
        assert_eq!(serve.get_one::<u32>("rrl_slip"), Some(&5), "environment");
        assert_eq!(
            serve.get_one::<String>("hostmaster").map(String::as_str),
            Some("hostmaster.example.net"),
            "file"
        );
        assert_eq!(serve.get_one::<u32>("rrl_window"), Some(&15), "default");
        assert!(serve.get_flag("no_demo"), "environment switch");
        // A CLI command shares the store's settings with serve.
        let argv: Vec<OsString> = ["candor", "zone", "create", "example.org"]
            .map(OsString::from)
            .to_vec();
        let matches = layer.apply(cli()).get_matches_from(&argv);
        let (_, zone) = matches.subcommand().expect("zone");
        let (_, create) = zone.subcommand().expect("create");
        let ns: Vec<&String> = create.get_many("nameservers").expect("ns").collect();
        assert_eq!(ns, ["a.example.net", "b.example.net"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A bad environment variable is named.
    #[test]
    fn bad_environment_is_named() {
        let argv = [OsString::from("candor")];
        let env =
            |name: &str| (name == "CANDOR_TCP_MAX_PER_SOURCE").then(|| OsString::from("many"));
        let e = load(&cli(), &argv, &env).expect_err("refused");
        assert!(
            format!("{e:#}")
                .starts_with("CANDOR_TCP_MAX_PER_SOURCE: tcp-max-per-source: invalid value 'many'"),
            "{e:#}"
        );
    }

    /// The shared settings reach the commands that use the store.
    #[test]
    fn the_store_settings_reach_every_store_command() {
        let takers = takers(&cli(), "hostmaster");
        for command in [
            "candor zone create",
            "candor record add",
            "candor token create",
            "candor init",
            "candor backup",
        ] {
            assert!(
                takers.contains(&command.to_owned()),
                "{command} not in {takers:?}"
            );
        }
    }

    /// `packaging/candor.toml` is `candor config example`, every key of
    /// serve has a line in it, and the file (as shipped, and with every
    /// default uncommented) is accepted.
    #[test]
    fn the_documented_example_lists_every_key_and_parses() {
        let example = example(&cli());
        assert!(
            include_str!("../../../packaging/candor.toml") == example,
            "packaging/candor.toml is out of date: \
             cargo run -p candor -- config example > packaging/candor.toml"
        );
        let keys = keys(&cli());
        assert!(keys.len() > 60, "only {} keys", keys.len());
        for arg in &keys {
            let prefix = format!("# {} = ", arg_key(arg));
            assert_eq!(
                example.lines().filter(|l| l.starts_with(&prefix)).count(),
                1,
                "{prefix}"
            );
        }
        assert!(parse(&example).expect("parses as shipped").is_empty());
        let uncommented: String = example
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                !l.ends_with("# not set by default")
                    && keys
                        .iter()
                        .any(|a| l.starts_with(&format!("{} = ", arg_key(a))))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let settings = parse(&uncommented).expect("defaults parse");
        let with_default = keys
            .iter()
            .filter(|a| !a.get_default_values().is_empty() || is_list(a) || is_switch(a))
            .count();
        assert_eq!(settings.len(), with_default);
    }

    /// `config check`'s output reads back as a configuration file that
    /// gives the same settings, and secrets are redacted.
    #[test]
    fn the_effective_configuration_reads_back() {
        let layer = Layer {
            file: None,
            settings: parse(
                "rrl-rate = 100\nlisten = [\"127.0.0.1:5300\"]\nsmtp-password = \"hunter2\"\n",
            )
            .expect("parses"),
        };
        let (text, _) = effective(&cli(), &layer).expect("effective");
        assert!(text.contains("rrl-rate = 100   # candor.toml:1"), "{text}");
        assert!(
            text.contains("listen = [\"127.0.0.1:5300\"]   # candor.toml:2"),
            "{text}"
        );
        assert!(text.contains("rrl-slip = 2   # default"), "{text}");
        assert!(text.contains("smtp-password = \"<redacted>\""), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        let again = parse(&text.replace("<redacted>", "hunter2")).expect("reads back");
        assert_eq!(again["rrl-rate"].values, ["100"]);
        assert_eq!(again["listen"].values, ["127.0.0.1:5300"]);
    }
}
