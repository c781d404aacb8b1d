//! Text bound for a terminal. Names come from config files, calendars, interface names and
//! paths; a control character among them (an escape sequence, a carriage return) could
//! rewrite what the user sees, so every one but the line break is shown escaped, as `\u{1b}`.

use std::borrow::Cow;

/// `text` with every control character except `\n` written as a Rust escape (`\u{1b}`).
pub fn inert(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() && c != '\n' {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_shown_not_run() {
        assert_eq!(inert("Salle Été\n"), "Salle Été\n");
        assert_eq!(
            inert("a\u{1b}[2Jb\rc\u{9b}d\te"),
            "a\\u{1b}[2Jb\\u{d}c\\u{9b}d\\u{9}e"
        );
    }
}
