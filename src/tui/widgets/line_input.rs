//! Keys for every one-line prompt of the console (the Data filter and search, the reveal
//! reason, the palette, the confirmations): the text area's own editing, plus the readline
//! keys operators type without thinking (`ctrl-u` deletes to the start, `ctrl-w` the word
//! before the cursor, `ctrl-a`/`ctrl-e` go to the start/end), and a pre-filled prompt whose
//! first typed character replaces the text (as a selected field does), while a movement or
//! editing key keeps it for editing.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::{CursorMove, TextArea};

/// Applies `key` to a one-line `input`; `prefilled` is cleared by any key. Returns whether
/// the text changed.
pub fn edit(input: &mut TextArea<'static>, prefilled: &mut bool, key: KeyEvent) -> bool {
    let before = input.lines().join("");
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let alt = key.modifiers.contains(KeyModifiers::ALT);
    match key.code {
        KeyCode::Char('u') if ctrl => {
            input.delete_line_by_head();
        }
        KeyCode::Char('w') if ctrl => {
            input.delete_word();
        }
        KeyCode::Char('a') if ctrl => input.move_cursor(CursorMove::Head),
        KeyCode::Char('e') if ctrl => input.move_cursor(CursorMove::End),
        // Enter never makes a second line: the prompt's owner handles it.
        KeyCode::Enter => {}
        KeyCode::Char(_) if *prefilled && !ctrl && !alt => {
            input.move_cursor(CursorMove::End);
            input.delete_line_by_head();
            input.input(key);
        }
        _ => {
            input.input(key);
        }
    }
    *prefilled = false;
    input.lines().join("") != before
}

/// A one-line input holding `text` with the cursor at its end, styled as every prompt is.
pub fn with_text(text: &str) -> TextArea<'static> {
    let mut input = TextArea::new(vec![text.to_string()]);
    input.move_cursor(CursorMove::End);
    input.set_cursor_line_style(ratatui::style::Style::default());
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    fn text(input: &TextArea) -> String {
        input.lines().join("")
    }

    #[test]
    fn readline_keys_edit_the_line() {
        let mut input = with_text("actor=ana action=reveal");
        let mut prefilled = false;
        let ctrl = KeyModifiers::CONTROL;
        assert!(edit(
            &mut input,
            &mut prefilled,
            key(KeyCode::Char('w'), ctrl)
        ));
        assert_eq!(text(&input), "actor=ana action=");
        edit(&mut input, &mut prefilled, key(KeyCode::Char('a'), ctrl));
        edit(
            &mut input,
            &mut prefilled,
            key(KeyCode::Char('>'), KeyModifiers::NONE),
        );
        assert_eq!(text(&input), ">actor=ana action=");
        edit(&mut input, &mut prefilled, key(KeyCode::Char('e'), ctrl));
        edit(
            &mut input,
            &mut prefilled,
            key(KeyCode::Char('x'), KeyModifiers::NONE),
        );
        assert_eq!(text(&input), ">actor=ana action=x");
        assert!(edit(
            &mut input,
            &mut prefilled,
            key(KeyCode::Char('u'), ctrl)
        ));
        assert_eq!(text(&input), "");
    }

    #[test]
    fn the_first_character_replaces_a_prefilled_text_and_a_movement_keeps_it() {
        let mut input = with_text("action=reveal");
        let mut prefilled = true;
        edit(
            &mut input,
            &mut prefilled,
            key(KeyCode::Char('b'), KeyModifiers::NONE),
        );
        assert_eq!(text(&input), "b");
        assert!(!prefilled);
        let mut input = with_text("action=reveal");
        let mut prefilled = true;
        edit(
            &mut input,
            &mut prefilled,
            key(KeyCode::Left, KeyModifiers::NONE),
        );
        edit(
            &mut input,
            &mut prefilled,
            key(KeyCode::Char('x'), KeyModifiers::NONE),
        );
        assert_eq!(text(&input), "action=reveaxl");
    }
}
