//! Text bound for a terminal. Names come from config files, calendars, interface names and
//! paths; a control character among them (an escape sequence, a carriage return) or a
//! bidirectional override could rewrite what the user sees, so every one but the line break is
//! shown escaped, as `\u{1b}`.

use std::borrow::Cow;

/// Whether `c` can change how text around it is shown: a control character (U+0000–U+001F,
/// U+007F–U+009F), a bidirectional formatting character (Unicode's Bidi_Control: U+061C,
/// U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) or a line or paragraph separator
/// (U+2028, U+2029).
pub fn disruptive(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}'
        )
        || matches!(c, '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// `text` with every [`disruptive`] character except `\n` written as a Rust escape (`\u{1b}`).
pub fn inert(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| disruptive(c) && c != '\n') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if disruptive(c) && c != '\n' {
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
        assert_eq!(inert("evil\u{202e}txt.exe"), "evil\\u{202e}txt.exe");
    }
}
