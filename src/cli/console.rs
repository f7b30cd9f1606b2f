//! `timber console` (and `timber` with no command, and `timber demo`): loads the
//! configuration (files only), then opens the terminal and runs the console. Every
//! configuration problem is reported as one line before the terminal is touched.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::{CliError, CliResult, Context, GlobalArgs};
use crate::access::{Access, MaskHasher};
use crate::config::Source;
use crate::store::StoreConfig;
use crate::tui::terminal::{self, Stop, TerminalGuard};
use crate::tui::{App, Clock, Keymap, Setup, ThemeSet, theme};

/// Runs the console with these global flags until the operator quits.
pub fn run(global: &GlobalArgs) -> CliResult {
    // Configuration problems first: they are what the operator must fix, terminal or not.
    run_with(Context::load(global.to_flags())?)
}

/// Runs the console, serving Prometheus metrics at `metrics_addr` when given.
pub fn run_serving(global: &GlobalArgs, metrics_addr: Option<String>) -> CliResult {
    run_with_metrics(Context::load(global.to_flags())?, metrics_addr)
}

/// Runs the console on settings already loaded (`timber demo` loads its own).
pub fn run_with(context: Context) -> CliResult {
    run_with_metrics(context, None)
}

fn run_with_metrics(context: Context, metrics_addr: Option<String>) -> CliResult {
    let setup = setup(&context, Clock::System)?;
    let app = App::new(setup).map_err(|e| CliError::msg(e.to_string()))?;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(CliError::msg(
            "the console needs a terminal (stdin and stdout); for scripts use a subcommand such as \
             `timber browse`, `timber health` or `timber audit`",
        ));
    }
    terminal::install_panic_hook();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::msg(format!("starting the async runtime: {e}")))?;
    let outcome = runtime.block_on(async move {
        // Before the terminal is taken: a port in use is one line, not a broken screen.
        if let Some(addr) = &metrics_addr {
            super::metrics::serve(addr, &context)
                .await
                .map_err(|e| e.to_string())?;
        }
        let mut app = app;
        let mut guard = TerminalGuard::enter().map_err(|e| format!("opening the terminal: {e}"))?;
        let result = terminal::run(&mut app, &mut guard).await;
        drop(guard);
        // What became of the rotation jobs that were running (paused after their batch):
        // written whatever ended the console; ignored when the terminal is gone (SIGHUP).
        let mut err = std::io::stderr();
        for line in app.stop_report() {
            let _ = writeln!(err, "timber: {line}");
        }
        let stop = result.map_err(|e| format!("terminal: {e}"))?;
        if let Some(message) = app.fatal_error() {
            return Err(message.to_string());
        }
        match stop {
            Stop::Signal(signal) => {
                let _ = writeln!(
                    err,
                    "timber: console stopped by {}; the terminal was restored",
                    signal.name()
                );
                Ok(ExitCode::from(signal.exit_code()))
            }
            Stop::Quit | Stop::InputClosed => Ok(ExitCode::SUCCESS),
        }
    });
    // A census or health scan may still be running: do not make the operator wait for it.
    runtime.shutdown_timeout(Duration::from_millis(200));
    outcome.map_err(CliError::msg)
}

/// Builds the console's setup from loaded settings: models, keys, policy and role, store
/// configuration, theme and keymap. Reads files only; nothing connects.
pub fn setup(context: &Context, clock: Clock) -> Result<Setup, CliError> {
    let settings = &context.settings;
    let models = context.models()?;
    let ring = context.keyring()?;
    let access =
        Access::from_settings(settings, &ring).map_err(|e| CliError::msg(e.to_string()))?;
    let store_config =
        StoreConfig::from_settings(settings).map_err(|e| CliError::msg(e.to_string()))?;

    let themes = ThemeSet::load(ThemeSet::user_dir().as_deref());
    let (flag_theme, env_theme) = match &settings.theme {
        Some(t) if matches!(t.source, Source::Flag(_)) => (Some(t.value.as_str()), None),
        Some(t) => (None, Some(t.value.as_str())),
        None => (None, None),
    };
    let theme = themes
        .choose(flag_theme, theme::no_color_requested(), env_theme)
        .map_err(|e| CliError::msg(e.to_string()))?;
    let keymap = Keymap::load(Keymap::default_path().as_deref());
    let mut warnings = themes.warnings.clone();
    warnings.extend(keymap.warnings.iter().cloned());

    Ok(Setup {
        settings: Arc::new(settings.clone()),
        hasher: MaskHasher::for_ring(&ring),
        models: Arc::new(models),
        ring: Arc::new(ring),
        policy: access.policy().clone(),
        identity: access.identity().clone(),
        access_control: access.access_control_enabled(),
        store_config,
        environment: settings
            .oak_env
            .as_ref()
            .map(|e| e.value.clone())
            .unwrap_or_else(|| "development".into()),
        audit_enabled: settings.enable_audit_log,
        key_rotation_date: settings.key_rotation_date.as_ref().map(|d| d.value),
        theme,
        themes,
        keymap,
        clock,
        warnings,
    })
}
