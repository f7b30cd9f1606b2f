//! `ctrl-s`: the screen as text, to a file (`timber-screen-<time>.txt` in the working
//! directory), for a ticket or a chat. It is the screen as drawn at its size, masks and all,
//! except that values revealed with `r` (on the Data screen or an audit entry's detail) are
//! written masked: a reveal is for the operator's eyes, and a file outlives its timeout.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::App;
use crate::tui::context::Loadable;

impl App {
    /// Writes the screen to a file and says where (or why it could not).
    pub(super) fn dump_screen(&mut self) {
        let text = self.screen_text_masked();
        let name = format!(
            "timber-screen-{}.txt",
            self.state.now.format("%Y%m%dT%H%M%SZ")
        );
        let path = self.state.dump_dir.join(name);
        match std::fs::write(&path, text) {
            Ok(()) => self.state.notice(format!(
                "screen written to {} (revealed values masked)",
                path.display()
            )),
            Err(e) => self.state.error(format!(
                "cannot write the screen to {}: {e}",
                path.display()
            )),
        }
    }

    /// The screen as text, one line per row (trailing blanks trimmed), with live reveals
    /// masked again for the drawing.
    fn screen_text_masked(&mut self) -> String {
        let reveals = self
            .state
            .data
            .table
            .as_mut()
            .map(|t| std::mem::take(&mut t.reveals));
        let revealed_entry = self.state.audit.detail.as_mut().and_then(|pane| {
            let masked = pane.masked.clone()?;
            pane.revealed_until?;
            Some(std::mem::replace(&mut pane.view, Loadable::Ready(masked)))
        });
        let text = self.screen_text();
        if let (Some(table), Some(reveals)) = (self.state.data.table.as_mut(), reveals) {
            table.reveals = reveals;
        }
        if let (Some(pane), Some(view)) = (self.state.audit.detail.as_mut(), revealed_entry) {
            pane.view = view;
        }
        text
    }

    /// The screen as drawn now at its size, as text.
    pub fn screen_text(&self) -> String {
        let (w, h) = self.state.size;
        // A test backend is a buffer in memory: it cannot fail.
        let Ok(mut terminal) = Terminal::new(TestBackend::new(w, h));
        let Ok(_) = terminal.draw(|frame| self.draw(frame));
        let buffer = terminal.backend().buffer();
        let mut out = String::new();
        for y in 0..buffer.area.height {
            let mut line = String::new();
            for x in 0..buffer.area.width {
                line.push_str(buffer[(x, y)].symbol());
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}
