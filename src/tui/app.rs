//! The thin root: owns the state, the services and the task runner; routes events to the
//! chrome (popups, tabs) or the current screen, and applies task results. Headless-drivable:
//! tests call [`App::handle_event`], [`App::settle`] and [`App::draw`] on a `TestBackend`.

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::Frame;
use tokio::sync::OnceCell;

use super::event::Event;
use super::keymap::Action;
use super::screens::ScreenId;
use super::screens::data::{DataState, ModelEntry};
use super::screens::keys::KeysState;
use super::setup::Setup;
use super::state::{Connection, Popup, State, Status};
use super::tasks::{TaskResult, TaskRunner};
use super::ui;
use crate::access::{Access, AccessError, Decision};
use crate::audit::AuditLog;
use crate::store::Store;

/// The console.
pub struct App {
    pub(super) setup: Setup,
    pub state: State,
    pub(super) tasks: TaskRunner,
    pub(super) store: Option<Store>,
    pub(super) access: Arc<Access>,
    /// The append-only audit connection, opened on the first reveal.
    pub(super) audit_log: Arc<OnceCell<AuditLog>>,
    /// Set when the console must stop because of a bug (a task panicked).
    pub(super) fatal: Option<String>,
    /// A poll of the jobs table is out (ticks do not pile up polls).
    pub(super) jobs_polling: bool,
}

impl App {
    /// Builds the console from its setup. No I/O: the database is opened by [`App::start`].
    pub fn new(setup: Setup) -> Result<App, AccessError> {
        let access = Arc::new(setup.access()?);
        let now = setup.clock.now();
        let models = setup
            .models
            .models
            .iter()
            .map(|m| ModelEntry {
                name: m.name.clone(),
                table: m.table_name.clone(),
                encrypted: m.encrypted_columns().map(|c| c.name.clone()).collect(),
                searchable: m
                    .encrypted_columns()
                    .filter(|c| c.blind_index.is_some())
                    .map(|c| c.name.clone())
                    .collect(),
                estimate: None,
            })
            .collect();
        let keys = KeysState::new(
            &setup.ring.entries(),
            &setup.models,
            setup.key_rotation_date,
            now.date_naive(),
        );
        let status = Status {
            database: setup.database_label(),
            environment: setup.environment.clone(),
            role: access.identity().role.clone(),
            user: access.identity().user.clone(),
            read_only: setup.store_config.read_only,
            connection: Connection::Connecting,
            last_error: None,
            message: setup
                .warnings
                .first()
                .map(|w| format!("! {w} (see ? help)")),
        };
        let state = State {
            screen: ScreenId::Overview,
            size: (80, 24),
            now,
            theme: setup.theme.clone(),
            keymap: setup.keymap.clone(),
            status,
            popup: Popup::None,
            overview: Default::default(),
            data: DataState {
                models,
                cursor: 0,
                table: None,
            },
            audit: super::screens::audit::AuditState {
                write_audit_off: !setup.audit_enabled,
                reveal_blocked: setup.ring.audit_key().is_none().then(|| {
                    "MASTER_ENCRYPTION_KEY is not set, so the reveal could not be audited".into()
                }),
                read_only: setup.store_config.read_only,
                ..Default::default()
            },
            keys,
            health: Default::default(),
            warnings: setup.warnings.clone(),
            reveal_timeout_seconds: access.reveal_timeout_seconds(),
            grants: access.grants().clone(),
            quit: false,
        };
        Ok(App {
            setup,
            state,
            tasks: TaskRunner::default(),
            store: None,
            access,
            audit_log: Arc::new(OnceCell::new()),
            fatal: None,
            jobs_polling: false,
        })
    }

    /// Uses an already open store without starting the Overview's scans (census, health):
    /// for benchmarks and tools that measure one screen on a large database.
    pub fn attach_store(&mut self, store: Store) {
        self.state.status.connection = Connection::Connected;
        self.store = Some(store);
    }

    /// The open database connection (tests ask the database about its session).
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// Opens a model's table (as `:model NAME` does); the first page loads in the background.
    pub fn open_model(&mut self, name: &str) {
        self.open_table(name);
    }

    /// Starts background work (the connection, then everything that needs it).
    pub fn start(&mut self) {
        let config = self.setup.store_config.clone();
        self.tasks.spawn("connect", super::tasks::connect(config));
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
        self.store = None;
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

    pub fn handle_event(&mut self, event: Event) {
        match event {
            Event::Resize(w, h) => {
                self.state.size = (w, h);
                if let Some(table) = &mut self.state.data.table {
                    table.col_offset = super::screens::data_columns::keep_visible(table, w);
                }
            }
            Event::Tick => self.tick(),
            Event::Key(key) => self.on_key(key),
            Event::Mouse(mouse) => self.on_mouse(mouse),
            Event::Paste(text) => self.on_paste(&text),
        }
    }

    fn tick(&mut self) {
        self.state.now = self.setup.clock.now();
        let now = self.state.now;
        if let Some(table) = &mut self.state.data.table
            && table.expire_reveals(now) > 0
        {
            self.state.notice("revealed cell masked again (timeout)");
        }
        // The audit tail follows new entries (of any process) unless scrolled away.
        self.audit_tick();
        // Jobs of other processes appear and move while the jobs are on screen.
        if matches!(self.state.screen, ScreenId::Keys | ScreenId::Overview) {
            self.poll_jobs();
        }
    }

    fn on_key(&mut self, key: KeyEvent) {
        // ctrl-c always quits, even inside a text input.
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.state.quit = true;
            return;
        }
        if !matches!(self.state.popup, Popup::None) {
            self.popup_key(key);
            return;
        }
        if self.audit_input_open() {
            self.audit_input_key(key);
            return;
        }
        let Some(action) = self.state.keymap.action(&key) else {
            return;
        };
        self.run_action(action);
    }

    /// Carries out an action from a key or the palette.
    pub(super) fn run_action(&mut self, action: Action) {
        match action {
            Action::Quit => self.state.quit = true,
            Action::Help => self.state.popup = Popup::Help { scroll: 0 },
            Action::Palette => self.open_palette(),
            Action::Overview => self.state.screen = ScreenId::Overview,
            Action::Data => self.state.screen = ScreenId::Data,
            Action::Audit => self.state.screen = ScreenId::Audit,
            Action::Keys => self.state.screen = ScreenId::Keys,
            Action::Health => self.state.screen = ScreenId::Health,
            // `:verify` from any screen: the result is shown on the Audit screen.
            Action::Verify => {
                self.state.screen = ScreenId::Audit;
                self.audit_action(Action::Verify);
            }
            Action::NextTab => {
                self.state.screen = ScreenId::from_index(self.state.screen.index() + 1)
            }
            Action::PrevTab => {
                self.state.screen = ScreenId::from_index(self.state.screen.index() + 4)
            }
            // Not connected (yet, or the database was unreachable): refresh retries.
            Action::Refresh if self.store.is_none() => self.reconnect(),
            _ => self.screen_action(action),
        }
    }

    fn screen_action(&mut self, action: Action) {
        // An action the role is not granted is refused here, before any screen acts on it,
        // with the same reason the titles, hints and help show (a read-only session's
        // writes are refused by their handlers, with their remedy).
        let governed = matches!(
            (self.state.screen, action),
            (ScreenId::Data | ScreenId::Audit, Action::Reveal)
                | (
                    ScreenId::Keys,
                    Action::Rotate | Action::RetireKey | Action::PauseJob | Action::CancelJob
                )
        );
        if governed
            && let Some(super::disabled::Disabled::NotGranted(refused)) =
                self.state.disabled(action)
        {
            self.state.error(refused.short());
            return;
        }
        match (self.state.screen, action) {
            (ScreenId::Data, _) => {
                let (page, width) = (self.state.page_size(), self.state.size.0);
                let effect = self.state.data.on_action(action, page, width);
                self.carry_out(effect);
            }
            (ScreenId::Health, Action::Refresh) => self.rerun_health(),
            (ScreenId::Audit, _) => self.audit_action(action),
            (_, Action::Refresh) => self.load_overview(),
            (ScreenId::Keys, Action::Down) => self.state.keys.move_cursor(1),
            (ScreenId::Keys, Action::Up) => self.state.keys.move_cursor(-1),
            (ScreenId::Keys, Action::Left | Action::Right) => self.state.keys.toggle_focus(),
            (ScreenId::Keys, Action::RetireKey) => self.open_retire(),
            (ScreenId::Keys, Action::Rotate) => self.open_rotation_wizard(),
            (ScreenId::Keys, Action::PauseJob) => self.pause_or_resume_job(),
            (ScreenId::Keys, Action::CancelJob) => self.cancel_job(),
            (ScreenId::Health, Action::Severity) => self.state.health.cycle_severity(),
            (ScreenId::Health, Action::Export) => self.export_health(),
            (ScreenId::Health, Action::Open) => self.open_finding(),
            (ScreenId::Health, Action::Down) => self.state.health.move_by(1),
            (ScreenId::Health, Action::Up) => self.state.health.move_by(-1),
            (_, Action::Back) => {
                self.state.status.last_error = None;
                self.state.status.message = None;
            }
            _ => {}
        }
    }

    fn on_mouse(&mut self, mouse: MouseEvent) {
        if !matches!(self.state.popup, Popup::None) {
            return;
        }
        match mouse.kind {
            MouseEventKind::ScrollDown => self.screen_action(Action::Down),
            MouseEventKind::ScrollUp => self.screen_action(Action::Up),
            MouseEventKind::Down(MouseButton::Left) if mouse.row == 0 => {
                if let Some((_, _, screen)) = ui::tab_spans()
                    .into_iter()
                    .find(|(a, b, _)| (*a..*b).contains(&mouse.column))
                {
                    self.state.screen = screen;
                }
            }
            MouseEventKind::Down(MouseButton::Left) if self.state.screen == ScreenId::Data => {
                // Rows start under the tab bar, the block's border and the header.
                let Some(offset) = (mouse.row as usize).checked_sub(3) else {
                    return;
                };
                let page = self.state.page_size();
                match &mut self.state.data.table {
                    Some(table) => {
                        let index = table.window_start(page) + offset;
                        if index < table.rows.len().min(table.window_start(page) + page) {
                            table.row = index;
                        }
                    }
                    None if offset < self.state.data.models.len() => {
                        self.state.data.cursor = offset
                    }
                    None => {}
                }
            }
            _ => {}
        }
    }

    fn reconnect(&mut self) {
        if self.state.status.connection == Connection::Connecting && self.tasks.pending() > 0 {
            return;
        }
        self.state.status.connection = Connection::Connecting;
        self.state.status.last_error = None;
        self.state.notice("connecting…");
        self.start();
    }

    /// Starts every Overview (and Audit, Keys, Health) load.
    pub(super) fn load_overview(&mut self) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let (ring, models) = (self.setup.ring.clone(), self.setup.models.clone());
        let now = self.state.now;
        self.state.overview.census = super::screens::Loadable::Loading;
        let settings = self.setup.settings.clone();
        self.tasks.spawn(
            "census",
            super::overview_data::census(store.clone(), settings, models),
        );
        self.tasks.spawn(
            "audit",
            super::overview_data::audit(store.clone(), ring.clone(), now),
        );
        self.tasks
            .spawn("jobs", super::overview_data::jobs(store.clone()));
        self.tasks
            .spawn("keys", super::tasks::key_registry(store.clone(), ring));
        self.spawn_health(store);
    }

    /// The decision for a column under the current role (for table columns).
    pub(super) fn is_secret(
        &self,
        model: &crate::config::ModelDef,
        column: &crate::config::ColumnDef,
    ) -> bool {
        self.access.decide(model, column) != Decision::Plain
    }
}
