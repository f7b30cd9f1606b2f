//! The thin root: owns the state, the services and the task runner; routes events to the
//! chrome (popups, tabs) or the current screen (`events.rs`, `popups.rs`), routes task
//! results to the screen they belong to (`results.rs`), and runs the small closed set of
//! effects the screens ask for (`effects.rs`). It holds no screen's logic.
//! Headless-drivable: tests call [`App::handle_event`], [`App::settle`] and [`App::draw`]
//! on a `TestBackend`.

pub mod commands;
mod dump;
mod effects;
mod events;
pub mod help;
pub mod messages;
mod palette;
mod popups;
mod report;
mod results;
mod shutdown;
pub mod state;
pub mod status_bar;
pub mod tasks;
pub mod terminal;
pub mod ui;

use std::sync::Arc;

use ratatui::Frame;
use tokio::sync::OnceCell;

use crate::access::{Access, AccessError};
use crate::store::Store;
use crate::tui::app::state::{Connection, Popup, State, Status};
use crate::tui::app::tasks::{TaskResult, TaskRunner};
use crate::tui::context::{Ctx, Services};
use crate::tui::screens::ScreenId;
use crate::tui::screens::audit::AuditState;
use crate::tui::screens::data::DataState;
use crate::tui::screens::keys::KeysState;
use crate::tui::setup::Setup;

/// The console.
pub struct App {
    pub(super) setup: Setup,
    pub state: State,
    pub(super) tasks: TaskRunner,
    /// What the screens' work runs against (the store once connected, the role's access,
    /// the append-only audit connection opened on the first reveal).
    pub(super) services: Services,
    /// Set when the console must stop because of a bug (a task panicked).
    pub(super) fatal: Option<String>,
    /// What became of the rotation jobs running when the console stopped.
    pub(super) stopped_jobs: Vec<String>,
    /// Bytes for the terminal itself, written after the next frame (an OSC 52 copy).
    pub(super) terminal_out: Vec<u8>,
}

impl App {
    /// Builds the console from its setup. No I/O: the database is opened by [`App::start`].
    pub fn new(setup: Setup) -> Result<App, AccessError> {
        let access = Arc::new(setup.access()?);
        let now = setup.clock.now();
        let keys = KeysState::new(
            &setup.ring.entries(),
            &setup.models,
            setup.key_rotation_date,
            now.date_naive(),
        );
        let status = status_at_start(&setup, &access);
        let mut state = State {
            screen: ScreenId::Overview,
            size: (80, 24),
            now,
            theme: setup.theme.clone(),
            keymap: setup.keymap.clone(),
            status,
            popup: Popup::None,
            overview: Default::default(),
            data: DataState::new(&setup.models),
            audit: AuditState::new(
                !setup.audit_enabled,
                setup.ring.audit_key().is_none().then(|| {
                    "MASTER_ENCRYPTION_KEY is not set, so the reveal could not be audited".into()
                }),
                setup.store_config.read_only,
            ),
            keys,
            health: Default::default(),
            warnings: setup.warnings.clone(),
            reveal_timeout_seconds: access.reveal_timeout_seconds(),
            grants: access.grants().clone(),
            history: Vec::new(),
            dump_dir: std::path::PathBuf::new(),
            report_dir: std::path::PathBuf::new(),
            quit: false,
        };
        // The first problem found at start is the first message (all are in help).
        if let Some(warning) = setup.warnings.first() {
            state.notice(format!("! {warning} (see ? help)"));
        }
        let services = Services {
            store: None,
            ring: setup.ring.clone(),
            models: setup.models.clone(),
            settings: setup.settings.clone(),
            access,
            audit_log: Arc::new(OnceCell::new()),
            connection_error: None,
        };
        Ok(App {
            setup,
            state,
            tasks: TaskRunner::default(),
            services,
            fatal: None,
            stopped_jobs: Vec::new(),
            terminal_out: Vec::new(),
        })
    }

    /// Uses an already open store without starting the Overview's scans (census, health):
    /// for benchmarks and tools that measure one screen on a large database.
    pub fn attach_store(&mut self, store: Store) {
        self.state.status.connection = Connection::Connected;
        self.services.store = Some(store);
    }

    /// The open database connection (tests ask the database about its session).
    pub fn store(&self) -> Option<&Store> {
        self.services.store.as_ref()
    }

    /// Opens a model's table (as `:model NAME` does); the first page loads in the background.
    pub fn open_model(&mut self, name: &str) {
        self.open_table(name);
    }

    /// Opens a model's table on the Data screen.
    pub(super) fn open_table(&mut self, name: &str) {
        let ctx = ctx(&self.services, &self.state);
        let effect = self.state.data.open_table(name, &ctx);
        self.run_data(effect);
    }

    /// Starts background work (the connection, then everything that needs it).
    pub fn start(&mut self) {
        let config = self.setup.store_config.clone();
        self.tasks
            .spawn("connect", crate::tui::app::tasks::connect(config));
    }

    pub fn draw(&self, frame: &mut Frame) {
        ui::draw(frame, &self.state);
    }

    pub fn should_quit(&self) -> bool {
        self.state.quit
    }

    /// Stops all background work at once, for quitting: nothing is awaited, so the terminal
    /// is restored without waiting on a connection attempt or a scan.
    pub fn shutdown(&mut self) {
        self.tasks.abort_all();
        self.services.store = None;
    }

    /// Why the console had to stop, if it was not the operator's choice.
    pub fn fatal_error(&self) -> Option<&str> {
        self.fatal.as_deref()
    }

    /// Waits for every pending task (and those their results start) and applies them.
    /// For tests and scripted runs; the event loop uses [`App::next_result`] instead.
    pub async fn settle(&mut self) {
        while let Some(result) = self.tasks.next().await {
            self.apply(result);
        }
    }

    /// The next task result; never resolves while nothing is pending.
    pub async fn next_result(&mut self) -> TaskResult {
        match self.tasks.next().await {
            Some(result) => result,
            None => std::future::pending().await,
        }
    }

    pub fn handle_event(&mut self, event: crate::tui::event::Event) {
        self.on_event(event);
    }

    /// What the console asked to write to the terminal itself since the last call (an OSC
    /// 52 clipboard copy); the event loop writes it after each frame.
    pub fn take_terminal_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.terminal_out)
    }
}

/// What a screen's handlers read besides their own state (borrows only the services, so
/// the screen's state can be borrowed mutably beside it).
pub(super) fn ctx<'a>(services: &'a Services, state: &State) -> Ctx<'a> {
    Ctx {
        services,
        now: state.now,
        size: state.size,
        read_only: state.status.read_only,
        reveal_timeout_seconds: state.reveal_timeout_seconds,
    }
}

/// The status bar before the database answers.
fn status_at_start(setup: &Setup, access: &Access) -> Status {
    Status {
        database: setup.database_label(),
        environment: setup.environment.clone(),
        role: access.identity().role.clone(),
        user: access.identity().user.clone(),
        read_only: setup.store_config.read_only,
        connection: Connection::Connecting,
        last_error: None,
        message: None,
        message_at: None,
    }
}
